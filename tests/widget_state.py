"""Reads the widgets of nnlib.book.interact back out of a saved widget state.

Used by tests/test_book.py (on a notebook nbclient executed) and by
tests/browser/test_widgets.py (on the state a built page embeds).
"""

import html
import json
import re


def models(state):
    """{model id: model} from an ``application/vnd.jupyter.widget-state+json`` dict."""
    return state["state"]


def ref(value):
    return value.removeprefix("IPY_MODEL_")


def explorers(state):
    """Every interact widget of the state, as dicts:

    ``controls``: [(model name, option labels, start index)], in order;
    ``frames``: {tuple of labels: frame HTML}, read through the Stacks' children;
    ``links``: [(control id, its trait, Stack id, its trait)] for the links into the Stacks;
    ``stacks``: {Stack id: depth}, depth being the index of the control it follows.
    """
    ms = models(state)
    links = [
        (
            ref(m["state"]["source"][0]),
            m["state"]["source"][1],
            ref(m["state"]["target"][0]),
            m["state"]["target"][1],
        )
        for m in ms.values()
        if m["model_name"] in ("DirectionalLinkModel", "LinkModel")
    ]
    found = []
    for mid, m in ms.items():
        if "nnfp-explorer" not in m["state"].get("_dom_classes", ()):
            continue
        kids = [ref(c) for c in m["state"]["children"]]
        control_ids, root = kids[:-1], kids[-1]
        controls = [
            (ms[c]["model_name"], list(ms[c]["state"]["_options_labels"]), ms[c]["state"]["index"])
            for c in control_ids
        ]
        frames, stacks = {}, {}
        _walk(ms, root, (), controls, frames, stacks)
        found.append(
            {
                "id": mid,
                "control_ids": control_ids,
                "controls": controls,
                "frames": frames,
                "stacks": stacks,
                "links": [link for link in links if link[2] in stacks],
            }
        )
    return found


def frame_values(frame_html):
    """The control labels a frame says it was computed for."""
    found = re.search(r'data-nnfp-values="([^"]*)"', frame_html)
    return json.loads(html.unescape(found.group(1)))


def frame_images(frame_html):
    return re.findall(r'src="(data:image/png;base64,[^"]+)"', frame_html)


def frame_text(frame_html):
    return [
        html.unescape(t)
        for t in re.findall(r'<pre class="nnfp-text">(.*?)</pre>', frame_html, flags=re.S)
    ]


def _walk(ms, node, labels, controls, frames, stacks):
    """Fill ``frames`` {labels: HTML} and ``stacks`` {Stack id: depth} below ``node``."""
    model = ms[node]
    if model["model_name"] != "StackModel":
        frames[labels] = model["state"]["value"]
        return
    stacks[node] = len(labels)
    for i, child in enumerate(model["state"]["children"]):
        label = controls[len(labels)][1][i]
        _walk(ms, ref(child), labels + (label,), controls, frames, stacks)
