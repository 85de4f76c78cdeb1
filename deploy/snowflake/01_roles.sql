-- Roles of the platform, one per environment, and their hierarchy.
-- Run as a user holding USERADMIN (or ACCOUNTADMIN). Re-runnable: every statement is idempotent.
USE ROLE USERADMIN;

CREATE ROLE IF NOT EXISTS HN_PRODUCTION COMMENT = 'Owns PRODUCTION; clones it for pull requests and drops the clones';
CREATE ROLE IF NOT EXISTS HN_STAGING COMMENT = 'Owns STAGING';
CREATE ROLE IF NOT EXISTS HN_BRANCH COMMENT = 'Branch deployments: owns the PRODUCTION_CLONE_<PR> databases handed to it, nothing else';
CREATE ROLE IF NOT EXISTS HN_DEVELOPER COMMENT = 'Developers: a personal schema each in LOCAL';

-- Production inherits the branch role: it may drop every clone it handed over (the close-event drop and the
-- sweeper), and may activate the branch role as a secondary role, which GRANT OWNERSHIP needs under BCR 2395.
-- The reverse never holds: nothing grants a production privilege to the branch role.
GRANT ROLE HN_BRANCH TO ROLE HN_PRODUCTION;

-- Snowflake's recommended hierarchy: custom roles roll up to SYSADMIN, so administrators can manage their objects.
GRANT ROLE HN_PRODUCTION TO ROLE SYSADMIN;
GRANT ROLE HN_STAGING TO ROLE SYSADMIN;
GRANT ROLE HN_DEVELOPER TO ROLE SYSADMIN;
