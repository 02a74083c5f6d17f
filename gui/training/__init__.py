"""The training view's parts: the child process, the option form, live charts, the runs table."""
