"""commtwin's cockpit API (FastAPI): see :func:`api.app.create_app`."""

__version__ = "0.1.0"
