"""The contracts of commtwin: MQTT payload JSON Schemas and SQL migrations.

Pure data and pure functions; no network I/O.
"""
