"""Stand-in for ``google.colab.output``: the widget-manager switch that the setup cells call.

In Colab, ``enable_custom_widget_manager()`` lets the page load widget code beyond Colab's
built-in ipywidgets 7 (which the chapters' widgets use). The kernel side is only a setting,
which is kept here so the check could assert on it.
"""

custom_widget_manager_enabled = False


def enable_custom_widget_manager():
    """Let the Colab page render third-party widgets (here: remember that it was asked)."""
    global custom_widget_manager_enabled
    custom_widget_manager_enabled = True


def disable_custom_widget_manager():
    """Back to Colab's built-in widgets only."""
    global custom_widget_manager_enabled
    custom_widget_manager_enabled = False
