"""Callback plugins for `ansible` steps (ANSIBLE_CALLBACK_PLUGINS points here)."""
