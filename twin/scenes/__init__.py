"""The cockpit's scenes computed from readings: energy and carbon from meter
counters, traffic, and the periods (today, 30 days) they are summed over.

May import ``twin.model`` and ``twin.errors`` only.
"""
