"""My helper: plug values into a formula string (used for printing)."""
def substitute(template, **values):
    return template.format(**values)
