"""What the operator's tools read: ``/healthz`` for the load balancer, ``/metrics`` for Prometheus."""
