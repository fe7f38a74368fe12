"""Live state: what a cockpit's ``/live`` shows of one community (tallies, grids,
storey/building status) and a district's overview of its communities.

May import ``twin.model`` and ``twin.errors`` only.
"""
