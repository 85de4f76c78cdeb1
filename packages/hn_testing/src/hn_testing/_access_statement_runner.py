"""Access-control statements run against the account's model, as one session, with Snowflake's checks and words.

Each statement's rules come from its page: https://docs.snowflake.com/en/sql-reference/sql/use-role,
.../use-secondary-roles ("each named role must have been granted to the current user"), .../use-warehouse,
.../create-role, .../create-user, .../alter-user, .../create-warehouse, .../grant-role, .../grant-privilege and
.../grant-ownership (the owner or MANAGE GRANTS may grant; ``COPY`` or ``REVOKE CURRENT GRANTS`` decides what
happens to the other grants). Under behaviour change bundle 2026_07 (BCR 2395,
https://docs.snowflake.com/en/release-notes/bcr-bundles/2026_07/bcr-2395) the new owner must also be activated in the
session (its primary role or one of its secondary roles), unless the session holds MANAGE GRANTS. The emulator always
applies BCR 2395, and counts as activated only the primary and the secondary roles themselves, not the roles they
inherit: never more forgiving than the account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from snowflake.connector.errors import ProgrammingError

from hn_testing._access_control import CATALOG_KINDS, THE_ACCOUNT, User
from hn_testing._access_session import AccessSession
from hn_testing._access_statements import (
    ACCOUNT,
    OWNERSHIP,
    WAREHOUSE,
    AccessStatement,
    AllIn,
    AlterUser,
    CreateRole,
    CreateUser,
    CreateWarehouse,
    GrantOwnership,
    GrantPrivileges,
    GrantRole,
    Securable,
    UseRole,
    UseSecondaryRoles,
    UseWarehouse,
)
from hn_testing._snowflake_errors import (
    already_exists,
    does_not_exist,
    hidden,
    insufficient_privileges,
    no_current_context,
)


def run_access_statement(session: AccessSession, statement: AccessStatement) -> str:
    """Run an access-control statement as ``session``; returns Snowflake's status message."""
    return AccessStatementRunner(session).run(statement)


class AccessStatementRunner:
    """Runs one session's access-control statements; one method per statement class, named after it."""

    def __init__(self, session: AccessSession) -> None:
        self.session = session
        self.control = session.control

    def run(self, statement: AccessStatement) -> str:
        """Run an access-control statement against the model; returns Snowflake's status message."""
        handler: Callable[[AccessStatement], str] = getattr(self, f"_{type(statement).__name__}")
        with self.control.lock:
            return handler(statement)

    def _UseRole(self, statement: UseRole) -> str:  # noqa: N802 (named after the statement class)
        self.control.require_role(statement.role)
        self._require_assigned(statement.role)
        self.session.primary_role = statement.role
        return "Statement executed successfully."

    def _UseSecondaryRoles(self, statement: UseSecondaryRoles) -> str:  # noqa: N802
        if statement.roles == "NONE":
            self.session.secondary_roles = ()
        elif statement.roles == "ALL":
            self.session.secondary_roles = "ALL"
        else:
            for role in statement.roles:
                self.control.require_role(role)
                self._require_assigned(role)
            self.session.secondary_roles = statement.roles
        return "Statement executed successfully."

    def _UseWarehouse(self, statement: UseWarehouse) -> str:  # noqa: N802
        warehouse = Securable(WAREHOUSE, statement.name)
        if statement.name not in self.control.warehouses or not (
            self.session.unrestricted or self.session.uses(warehouse)
        ):
            raise no_current_context()
        self.session.warehouse = statement.name
        return "Statement executed successfully."

    def _CreateRole(self, statement: CreateRole) -> str:  # noqa: N802
        exists = statement.name in self.control.roles
        if existing := self._create_account_object("CREATE ROLE", statement.name, exists, statement.if_not_exists):
            return existing
        self.control.roles[statement.name] = set()
        self.control.owners[Securable("ROLE", statement.name)] = self.session.primary_role
        return f"Role {statement.name} successfully created."

    def _CreateUser(self, statement: CreateUser) -> str:  # noqa: N802
        exists = statement.name in self.control.users
        if existing := self._create_account_object("CREATE USER", statement.name, exists, statement.if_not_exists):
            return existing
        user = User(statement.name)
        _set_user_properties(user, statement.properties)
        self.control.users[statement.name] = user
        self.control.owners[Securable("USER", statement.name)] = self.session.primary_role
        self.control.provisioned = True
        return f"User {statement.name} successfully created."

    def _AlterUser(self, statement: AlterUser) -> str:  # noqa: N802
        user = self.control.users.get(statement.name)
        if user is None:
            if statement.if_exists:
                return "Statement executed successfully."
            raise does_not_exist("User", statement.name)
        self._require_owner_or_manage_grants(Securable("USER", statement.name))
        _set_user_properties(user, statement.properties)
        return "Statement executed successfully."

    def _GrantRole(self, statement: GrantRole) -> str:  # noqa: N802
        self.control.require_role(statement.role)
        self._require_owner_or_manage_grants(Securable("ROLE", statement.role))
        if statement.grantee_kind == "ROLE":
            self.control.require_role(statement.grantee)
            children = self.control.roles[statement.grantee]
            if statement.revoke:
                children.discard(statement.role)
            else:
                if statement.grantee in self.control.hierarchy(statement.role):
                    raise ProgrammingError(
                        msg=f"SQL execution error:\nGranting role '{statement.role}' to role '{statement.grantee}' "
                        "would create a cycle.",
                        errno=3603,
                        sqlstate="42601",
                    )
                children.add(statement.role)
        else:
            user = self.control.users.get(statement.grantee)
            if user is None:
                raise does_not_exist("User", statement.grantee)
            (user.roles.discard if statement.revoke else user.roles.add)(statement.role)
        return "Statement executed successfully."

    def _GrantPrivileges(self, statement: GrantPrivileges) -> str:  # noqa: N802
        self.control.require_role(statement.role)
        for securable in self._targets(statement.target):
            if securable == THE_ACCOUNT:
                self._require_manage_grants(THE_ACCOUNT)
            else:
                self._require_owner_or_manage_grants(securable)
            held = self.control.grants.setdefault(securable, {}).setdefault(statement.role, set())
            if statement.revoke:
                held.difference_update(statement.privileges)
            else:
                held.update(statement.privileges)
        return "Statement executed successfully."

    def _GrantOwnership(self, statement: GrantOwnership) -> str:  # noqa: N802
        self.control.require_role(statement.role)
        manages_grants = self.session.manages_grants()
        for securable in self._targets(statement.target):
            self._require_owner_or_manage_grants(securable)
            if not manages_grants and statement.role not in self.session.activated_roles():
                raise ProgrammingError(
                    msg=f"SQL compilation error:\n{securable.kind.capitalize()} ownership can only be transferred "
                    "to a role that is activated in the current session or by a role with account-level "
                    "MANAGE GRANTS.",
                    errno=3150,
                    sqlstate="42501",
                )
            others = {role: p for role, p in self.control.grants.get(securable, {}).items() if p}
            if others and statement.current_grants is None:
                role, privileges = next(iter(others.items()))
                raise ProgrammingError(
                    msg=f"SQL execution error: Dependent grant of privilege '{sorted(privileges)[0]}' on securable "
                    f"'{securable.name}' to role '{role}' exists. It must be revoked first. More than one dependent "
                    "grant may exist: use 'SHOW GRANTS' command to view them. To revoke all dependent grants while "
                    "transferring object ownership, use convenience command 'GRANT OWNERSHIP ON <target_objects> "
                    "TO <target_role> REVOKE CURRENT GRANTS'.",
                    errno=3111,
                    sqlstate="42501",
                )
            if statement.current_grants == "REVOKE":
                self.control.grants.pop(securable, None)
            self.control.owners[securable] = statement.role
        return "Statement executed successfully."

    def _CreateWarehouse(self, statement: CreateWarehouse) -> str:  # noqa: N802
        warehouse = Securable(WAREHOUSE, statement.name)
        with self.session.create_statement():
            self.session.require("CREATE WAREHOUSE", THE_ACCOUNT)
            if statement.name in self.control.warehouses:
                if statement.if_not_exists:
                    return f"{statement.name} already exists, statement succeeded."
                if not statement.replace:
                    raise already_exists(statement.name)
                self._require_owner_or_manage_grants(warehouse)
        self.control.warehouses.add(statement.name)
        self.control.created(warehouse, self.session.primary_role)
        self.session.warehouse = statement.name  # as in Snowflake, a new warehouse becomes the session's current one
        return f"Warehouse {statement.name} successfully created."

    # -- helpers ------------------------------------------------------------------------------------

    def _create_account_object(self, privilege: str, name: str, exists: bool, if_not_exists: bool) -> str | None:
        """Check a CREATE ROLE/USER: the privilege (primary role), then what an existing object means."""
        with self.session.create_statement():
            self.session.require(privilege, THE_ACCOUNT)
        if not exists:
            return None
        if if_not_exists:
            return f"{name} already exists, statement succeeded."
        raise already_exists(name)

    def _require_assigned(self, role: str) -> None:
        if self.session.user is not None and role not in self.control.user_roles(self.session.user):
            raise ProgrammingError(
                msg=f"SQL access control error:\nRequested role '{role}' is not assigned to the executing user. "
                "Specify another role to activate.",
                errno=3013,
                sqlstate="42501",
            )

    def _require_manage_grants(self, securable: Securable) -> None:
        if not self.session.manages_grants():
            raise insufficient_privileges(
                Securable(ACCOUNT, self.session.account) if securable == THE_ACCOUNT else securable
            )

    def _require_owner_or_manage_grants(self, securable: Securable) -> None:
        if self.session.manages_grants():
            return
        if securable.kind in CATALOG_KINDS:
            self.session.require(OWNERSHIP, securable)
        elif not self.session.holds(OWNERSHIP, securable):
            raise insufficient_privileges(securable)

    def _targets(self, target: Securable | AllIn) -> Iterable[Securable]:
        """The objects a GRANT names: one (which must exist) or all of a kind inside a database or schema."""
        catalog = self.control.catalog
        if isinstance(target, AllIn):
            if not catalog.securable_exists(target.container):
                raise hidden(target.container)
            return catalog.contents(target.container, target.kind)
        if target.kind == WAREHOUSE and target.name not in self.control.warehouses:
            raise does_not_exist("Warehouse", target.name)
        if target.kind in CATALOG_KINDS and not catalog.securable_exists(target):
            raise hidden(target)
        return [target]


def _set_user_properties(user: User, properties: dict[str, str | tuple[str, ...]]) -> None:
    """The user properties that decide a session's roles and warehouse; others (TYPE, keys, COMMENT) are kept out."""
    if isinstance(role := properties.get("DEFAULT_ROLE"), str):
        user.default_role = role
    if isinstance(warehouse := properties.get("DEFAULT_WAREHOUSE"), str):
        user.default_warehouse = warehouse
    if "DEFAULT_SECONDARY_ROLES" in properties:
        value = properties["DEFAULT_SECONDARY_ROLES"]
        roles = tuple(v.upper() for v in value) if isinstance(value, tuple) else (value.upper(),)
        user.default_secondary_roles = "ALL" if roles == ("ALL",) else roles
