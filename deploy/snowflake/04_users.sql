-- Service users of the Dagster+ deployments: key-pair authentication only (TYPE = SERVICE users cannot log in
-- with a password), one role each, no secondary roles by default. Set each public key afterwards (see README):
--   ALTER USER HN_PRODUCTION_SVC SET RSA_PUBLIC_KEY = '<public key, base64 body of the PEM>';
-- Developers are people: grant them HN_DEVELOPER (GRANT ROLE HN_DEVELOPER TO USER <name>).
-- Run as a user holding USERADMIN (or ACCOUNTADMIN). Re-runnable: users are created if missing, then their
-- defaults are set again.
USE ROLE USERADMIN;

CREATE USER IF NOT EXISTS HN_PRODUCTION_SVC TYPE = SERVICE COMMENT = 'Dagster+ production deployment';
CREATE USER IF NOT EXISTS HN_STAGING_SVC TYPE = SERVICE COMMENT = 'Dagster+ staging deployment';
CREATE USER IF NOT EXISTS HN_BRANCH_SVC TYPE = SERVICE COMMENT = 'Dagster+ branch deployments';

ALTER USER HN_PRODUCTION_SVC SET
  DEFAULT_ROLE = HN_PRODUCTION DEFAULT_WAREHOUSE = HN_PRODUCTION_WH DEFAULT_SECONDARY_ROLES = ();
ALTER USER HN_STAGING_SVC SET
  DEFAULT_ROLE = HN_STAGING DEFAULT_WAREHOUSE = HN_STAGING_WH DEFAULT_SECONDARY_ROLES = ();
ALTER USER HN_BRANCH_SVC SET
  DEFAULT_ROLE = HN_BRANCH DEFAULT_WAREHOUSE = HN_BRANCH_WH DEFAULT_SECONDARY_ROLES = ();

GRANT ROLE HN_PRODUCTION TO USER HN_PRODUCTION_SVC;
GRANT ROLE HN_STAGING TO USER HN_STAGING_SVC;
GRANT ROLE HN_BRANCH TO USER HN_BRANCH_SVC;
-- The hand-over runs `USE SECONDARY ROLES HN_BRANCH` as production's user. Snowflake's page on USE SECONDARY ROLES
-- says "each named role must have been granted to the current user", and does not say whether a role reached only
-- through another (HN_BRANCH through HN_PRODUCTION) counts: granting it to the user directly works either way, and
-- gives the user nothing HN_PRODUCTION did not already inherit.
GRANT ROLE HN_BRANCH TO USER HN_PRODUCTION_SVC;
