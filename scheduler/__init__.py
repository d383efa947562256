"""The scheduler room: decides *when* (slots, pre-flight, the sweep) and only enqueues tasks by
name. ``jobs`` holds the decisions, ``runner`` the APScheduler process with its leader lease,
``clock`` the (virtual) time, ``plan`` the wanted jobs, ``controls`` the staff's manual commands,
``ics`` the calendar export."""
