"""templating: Jinja2 in a bounded sandbox, its filters, and the variables of a host."""
