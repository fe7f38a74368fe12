"""Response and request bodies, one module per resource (``XPublic``/``XCreate``)."""
