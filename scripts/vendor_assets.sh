#!/usr/bin/env bash
# Refresh the page assets that ship with the book so that it renders with no network:
# MathJax 3 (math) and the ipywidgets HTML manager with RequireJS (widgets from their
# saved state). They land in book/_extra/vendor/, which _config.yml copies to the site
# root with html_extra_path (not _static/, whose every .js Jupyter Book adds to every page).
# Needs npm (the npm registry); readers never run this, the files are committed.
set -euo pipefail
MATHJAX=mathjax@3.2.2
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.15
REQUIREJS=requirejs@2.3.8

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/book/_extra/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "$MATHJAX" "$HTML_MANAGER" "$REQUIREJS" >/dev/null
for f in *.tgz; do mkdir "${f%.tgz}" && tar -xzf "$f" -C "${f%.tgz}"; done

rm -rf "$out"
mkdir -p "$out/mathjax/output/chtml/fonts" "$out/html-manager"
mj=mathjax-*/package
cp $mj/es5/tex-chtml-full.js "$out/mathjax/"
cp -r $mj/es5/output/chtml/fonts/woff-v2 "$out/mathjax/output/chtml/fonts/"
cp $mj/LICENSE "$out/mathjax/LICENSE"
hm=jupyter-widgets-html-manager-*/package
cp $hm/dist/embed-amd.js "$out/html-manager/"
# The widgets' icon fonts are fetched relative to RequireJS's base URL, which is the
# page's own folder; every page with widgets is in chapters/.
fonts="$root/book/_extra/chapters/@jupyter-widgets/html-manager/dist"
rm -rf "$root/book/_extra/chapters" && mkdir -p "$fonts"
cp $hm/dist/*.woff $hm/dist/*.woff2 "$fonts/"
cp $hm/LICENSE "$out/html-manager/LICENSE" 2>/dev/null || echo "BSD-3-Clause (Project Jupyter), see package.json" > "$out/html-manager/LICENSE"
rq=requirejs-*/package
cp $rq/require.js "$out/require.js"
cp $rq/LICENSE "$out/require.LICENSE" 2>/dev/null || echo "MIT (jQuery Foundation), see package.json" > "$out/require.LICENSE"
cat > "$out/VERSIONS" <<TXT
$MATHJAX
$HTML_MANAGER
$REQUIREJS
TXT
du -sh "$out"
