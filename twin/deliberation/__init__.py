"""The round table (民情圆桌会): topics the twin suggests, who is concerned,
votes counted by the law, decisions followed through as action items, and the
households' participation.

``counting`` (a law as data: China's Civil Code art. 278 by default),
``concerned`` (the households a table's level and place concern, with their
floor areas), ``suggestions`` (recurring incidents of one category in one
place), ``actions`` (action items: status, SLA, closed-loop rate) and
``participation`` (the ledger and its rate). Pure: the API stores and serves them.

May import ``twin.model`` and ``twin.errors`` only.
"""
