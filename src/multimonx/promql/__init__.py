"""PromQL: syntax tree, parser and evaluator (Prometheus 3.x semantics, float samples)."""
