"""lint: the rules of `drillctl lint` and the findings they report, in every output format."""
