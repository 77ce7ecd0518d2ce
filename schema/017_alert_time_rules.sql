-- 017_alert_time_rules: pantau-alertd runs the time-driven rules (issue 11, docs/alerts.md).
--
-- 015's pantau_alert.evaluate_time(at) judges what time alone makes true (a gauge fallen
-- silent, a gateway offline, the dead-letter rate, a growing backlog); 016 made the alert
-- service's role, which may call evaluate() and escalate() and nothing else. The service now
-- calls evaluate_time(now()) on a timer (time_rules_interval), so the function runs as its
-- owner like evaluate() (it reads the facts tables, which that role cannot), with the fixed
-- search_path it already has.

ALTER FUNCTION pantau_alert.evaluate_time(timestamptz) SECURITY DEFINER;
REVOKE ALL ON FUNCTION pantau_alert.evaluate_time(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau_alert.evaluate_time(timestamptz) TO pantau_alertd, pantau_admin;
