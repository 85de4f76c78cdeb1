"""One connection's access session: who it is, which roles are active, and what they may do.

Sessions follow https://docs.snowflake.com/en/user-guide/security-access-control-overview ("Active roles",
"Authorization through primary role and secondary roles"), .../sql-reference/sql/use-role and
.../sql-reference/sql/use-secondary-roles: a session has one primary role (the ``role`` connection argument, else the
user's ``DEFAULT_ROLE``, else ``PUBLIC``) and optional secondary roles (the user's ``DEFAULT_SECONDARY_ROLES``, then
``USE SECONDARY ROLES``). A ``CREATE <object>`` statement takes every privilege it needs (the CREATE privilege, USAGE
on containers, SELECT on what it reads or clones, OWNERSHIP of what it replaces) from the primary role's hierarchy
alone, and the new object belongs to the primary role; every other statement, ``ALTER`` included, is authorized by
the hierarchies of all active roles. Objects inside a database or schema can be reached only with USAGE (or
ownership) on both. Account-level MANAGE GRANTS lets its holder see every object
(.../sql-reference/sql/show-databases, usage notes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from snowflake.connector.errors import DatabaseError

from hn_testing._access_control import (
    ACCOUNTADMIN,
    CATALOG_KINDS,
    MANAGE_GRANTS,
    PUBLIC,
    THE_ACCOUNT,
    AccessControl,
    User,
)
from hn_testing._access_statements import ACCOUNT, WAREHOUSE, Securable
from hn_testing._snowflake_errors import hidden, insufficient_privileges, no_active_warehouse


@dataclass
class AccessSession:
    """One connection's view of access control: who it is, which roles are active, and what they may do.

    ``unrestricted`` sessions (connections that name no user, and every connection while no user was created by
    SQL) skip privilege checks but still record who owns what they create, so tests that do not care about access
    control keep working and later restricted sessions see consistent ownership.
    """

    control: AccessControl
    user: User | None
    primary_role: str
    secondary_roles: Literal["ALL"] | tuple[str, ...] = ()
    warehouse: str | None = None
    account: str = "EMULATOR"
    #: Inside ``create_statement()``: only the primary role's hierarchy authorizes.
    _primary_only: bool = field(default=False, init=False, repr=False)

    @property
    def unrestricted(self) -> bool:
        return self.user is None

    # -- roles in effect ----------------------------------------------------------------------------

    def activated_roles(self) -> set[str]:
        """The primary role and the secondary roles themselves (what BCR 2395 calls activated)."""
        if self.secondary_roles == "ALL":
            secondary = set(self.user.roles) if self.user else set()
        else:
            secondary = set(self.secondary_roles)
        return {self.primary_role, *secondary}

    def active_roles(self) -> set[str]:
        """Every role whose privileges authorize statements other than CREATE."""
        roles: set[str] = set()
        for role in self.activated_roles():
            roles |= self.control.hierarchy(role)
        return roles

    def creating_roles(self) -> set[str]:
        """The roles that authorize CREATE statements: the primary role's hierarchy only."""
        return self.control.hierarchy(self.primary_role)

    @contextmanager
    def create_statement(self) -> Iterator[None]:
        """Authorize a ``CREATE <object>`` statement: every privilege it needs must come from the primary role.

        "Authorization to execute CREATE <object> statements comes from the primary role only [...] for any other SQL
        action, any permission granted to any active primary or secondary role can be used", and "When you create an
        object that requires one or more privileges to use, only the primary role and those roles that it directly or
        indirectly inherits are considered" (https://docs.snowflake.com/en/user-guide/security-access-control-overview,
        "Authorization through primary role and secondary roles"; .../sql-reference/sql/use-secondary-roles). So
        within this block the USAGE on containers, the SELECT on what a CTAS or a clone reads and the OWNERSHIP an OR
        REPLACE needs are the primary role's too, not only the CREATE privilege itself.
        """
        previous, self._primary_only = self._primary_only, True
        try:
            yield
        finally:
            self._primary_only = previous

    def authorizing_roles(self) -> set[str]:
        """The roles whose privileges count for the statement being checked (see ``create_statement``)."""
        return self.creating_roles() if self._primary_only else self.active_roles()

    def holds(self, privilege: str, securable: Securable) -> bool:
        if self.unrestricted:
            return True
        return privilege in self.control.privileges(self.authorizing_roles(), securable)

    def sees(self, securable: Securable) -> bool:
        """Whether the object is visible at all (any privilege on it); else Snowflake hides that it exists."""
        if self.unrestricted:
            return True
        return bool(self.control.privileges(self.authorizing_roles(), securable))

    def manages_grants(self) -> bool:
        """Account-level MANAGE GRANTS, which also lets its holder "see every object in the account"
        (https://docs.snowflake.com/en/sql-reference/sql/show-databases, usage notes)."""
        return self.holds(MANAGE_GRANTS, THE_ACCOUNT)

    def uses(self, securable: Securable) -> bool:
        """USAGE (or ownership): what reaching into a database or schema, or running a warehouse, needs."""
        return self.holds("USAGE", securable)

    # -- checks -------------------------------------------------------------------------------------

    def require(
        self,
        privilege: str,
        securable: Securable,
        *,
        reading: bool = False,
        exists: bool | None = None,
    ) -> None:
        """Refuse as Snowflake does unless the session may apply ``privilege`` (``"ANY"``: any) to ``securable``.

        Objects that do not exist are not checked here (``exists`` says so when the caller already knows): the
        statement then fails (or does nothing, with IF EXISTS) as it would for any role. Containers the role may not
        use hide what is inside them.
        """
        if self.unrestricted:
            return
        if securable.kind in CATALOG_KINDS:
            if not (exists if exists is not None else self.control.catalog.securable_exists(securable)):
                return
            for container in _containers(securable):
                if not self.uses(container):
                    raise hidden(container)
            if not self.sees(securable):
                raise hidden(securable, reading=reading)
        if privilege == "ANY":
            return
        if not self.holds(privilege, securable):
            named = Securable(ACCOUNT, self.account) if securable == THE_ACCOUNT else securable
            raise insufficient_privileges(named)

    def require_warehouse(self) -> None:
        """Queries and DML run on a warehouse: Snowflake refuses them in a session without a usable one."""
        if self.unrestricted or self.warehouse is not None:
            return
        raise no_active_warehouse()


def _containers(securable: Securable) -> list[Securable]:
    """The database (and schema) an object sits in, outermost first."""
    parts = securable.parts
    if securable.kind in ("TABLE", "VIEW"):
        return [Securable("DATABASE", parts[0]), Securable("SCHEMA", ".".join(parts[:2]))]
    if securable.kind == "SCHEMA":
        return [Securable("DATABASE", parts[0])]
    return []


def open_session(
    control: AccessControl, user_name: str | None, role: str | None, warehouse: str | None, account: str | None
) -> AccessSession:
    """The session a new connection gets, refusing the login as Snowflake does.

    No user (the emulator's own inspection connections), or any user while no user was created by SQL: an
    unrestricted ``ACCOUNTADMIN`` session. Otherwise the user must exist, the ``role`` argument must be granted to
    it, and the warehouse (argument, else the user's default) is current only if the role may use it.
    """
    account_name = (account or "EMULATOR").upper()
    with control.lock:
        user = control.users.get(user_name.upper()) if user_name else None
        if user is None or not control.provisioned:
            if user_name and control.provisioned:
                raise DatabaseError(
                    msg=f"Failed to connect to DB: {account_name}. Incorrect username or password was specified.",
                    errno=250001,
                    sqlstate="08001",
                )
            primary = role.upper() if role and role.upper() in control.roles else ACCOUNTADMIN
            return AccessSession(control, None, primary, (), warehouse.upper() if warehouse else None, account_name)
        primary = role.upper() if role else (user.default_role or PUBLIC)
        if primary not in control.roles or primary not in control.user_roles(user):
            raise DatabaseError(
                msg=f"Failed to connect to DB: {account_name}. Role '{primary}' specified in the connect string is "
                "not granted to this user. Contact your local system administrator, or attempt to login with "
                "another role, e.g. PUBLIC.",
                errno=250001,
                sqlstate="08001",
            )
        secondary = user.default_secondary_roles
        if secondary != "ALL":
            secondary = tuple(r for r in secondary if r in control.user_roles(user))
        session = AccessSession(control, user, primary, secondary, None, account_name)
        wanted = (warehouse or user.default_warehouse or "").upper()
        if wanted in control.warehouses and session.uses(Securable(WAREHOUSE, wanted)):
            session.warehouse = wanted
        return session
