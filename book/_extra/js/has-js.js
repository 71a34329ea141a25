// Marks the page as running JavaScript, so book/_extra/css/widgets.css hides the static
// grid of frames that nnlib.book.interact writes for print and for readers without it.
document.documentElement.classList.add("nnfp-js");
