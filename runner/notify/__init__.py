"""Notifications from the procedure's communication plan: who hears what, when, and how."""
