"""The program database's migrations (Alembic), shipped inside the package.

`versions/` holds one revision per schema change; `env.py` is what Alembic runs;
`runner.py` is what partnerflow calls: bring a database up to date, or tell
where it stands. No alembic.ini: the configuration is built in code from
PARTNERFLOW_DATABASE_URL, so an installed wheel or the Docker image migrates
as well as a checkout does.
"""
