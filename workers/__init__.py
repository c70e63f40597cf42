"""RQ jobs: take ids, reload rows, call one service. Queues and retry policies are declared here once."""
