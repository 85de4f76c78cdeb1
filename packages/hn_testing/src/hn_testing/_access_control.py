"""Snowflake's role-based access control, as far as the platform relies on it: the emulator's model.

What is modelled, and where it was read:

- **Roles and their hierarchy** (https://docs.snowflake.com/en/user-guide/security-access-control-overview):
  ``GRANT ROLE a TO ROLE b`` makes ``b`` inherit every privilege of ``a``; every role inherits ``PUBLIC``. The
  system roles exist from the start: ``ACCOUNTADMIN`` above ``SYSADMIN`` and ``SECURITYADMIN``, which is above
  ``USERADMIN``; ``SYSADMIN`` may create databases and warehouses, ``USERADMIN`` roles and users, ``SECURITYADMIN``
  holds ``MANAGE GRANTS``. One user, ``ADMIN``, holds ``ACCOUNTADMIN``, as the first user of a new account does.
- **Sessions** (https://docs.snowflake.com/en/sql-reference/sql/use-role, .../use-secondary-roles): a session has
  one primary role (the ``role`` connection argument, else the user's ``DEFAULT_ROLE``, else ``PUBLIC``) and
  optional secondary roles (the user's ``DEFAULT_SECONDARY_ROLES``, ``USE SECONDARY ROLES``). A ``CREATE <object>``
  statement takes every privilege it needs (the CREATE privilege, USAGE on containers, SELECT on what it reads or
  clones, OWNERSHIP of what it replaces) from the primary role's hierarchy alone, and the new object belongs to the
  primary role; every other statement, ``ALTER`` included, is authorized by the hierarchies of all active roles
  (.../user-guide/security-access-control-overview, "Authorization through primary role and secondary roles").
  ``USE ROLE`` and ``USE SECONDARY ROLES`` accept only roles granted to the user (directly or through the hierarchy).
- **Ownership and privileges** on the account, warehouses, databases, schemas, tables and views
  (https://docs.snowflake.com/en/user-guide/security-access-control-privileges): OWNERSHIP implies every
  privilege; objects inside a database or schema can be reached only with USAGE (or ownership) on both. Account-level
  MANAGE GRANTS lets its holder see every object in SHOW output (.../sql-reference/sql/show-databases, usage notes).
- **Clones** (https://docs.snowflake.com/en/user-guide/object-clone, "Access control privileges for cloned
  objects"): a cloned database belongs to the cloning session's primary role and does not inherit the grants of
  its source, while every schema, table and view inside keeps the grants of its source, OWNERSHIP included. A
  database or schema clone holds only the children its role may clone: schemas it has USAGE on, tables and views it
  has SELECT on (.../sql-reference/sql/create-clone: "Cloning includes only the objects on which the role that
  creates the clone has appropriate privileges").
- **GRANT OWNERSHIP** (https://docs.snowflake.com/en/sql-reference/sql/grant-ownership): allowed to the owner (or
  ``MANAGE GRANTS``); ``COPY CURRENT GRANTS`` keeps the other grants, ``REVOKE CURRENT GRANTS`` drops them, and
  without either the transfer fails while other grants exist. Under behaviour change bundle 2026_07 (BCR 2395,
  https://docs.snowflake.com/en/release-notes/bcr-bundles/2026_07/bcr-2395) the new owner must also be activated
  in the session (its primary role or one of its secondary roles), unless the session holds ``MANAGE GRANTS``.
  The emulator always applies BCR 2395, and counts as activated only the primary and the secondary roles
  themselves, not the roles they inherit: never more forgiving than the account.

Limits (what is *not* modelled): authentication (passwords and keys are not checked, only that the user exists);
future grants, database roles, grant options, managed-access schemas and object types other than those above;
the filtering of ``INFORMATION_SCHEMA`` rows by privilege (reading a database's information schema needs USAGE on
the database, and then lists every object in it); and the state does not survive the emulator (a reopened
``db_path`` starts with objects that belong to ``ACCOUNTADMIN``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, Protocol

from snowflake.connector.errors import DatabaseError, ProgrammingError

from hn_testing._access_statements import (
    ACCOUNT,
    GRANTABLE,
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
from hn_testing._snowflake_errors import already_exists, does_not_exist

PUBLIC = "PUBLIC"
ACCOUNTADMIN = "ACCOUNTADMIN"
SYSADMIN = "SYSADMIN"
SECURITYADMIN = "SECURITYADMIN"
USERADMIN = "USERADMIN"
ADMIN_USER = "ADMIN"
MANAGE_GRANTS = "MANAGE GRANTS"
#: Owner of objects the model never saw created (made outside SQL, or before a reopened ``db_path``).
DEFAULT_OWNER = ACCOUNTADMIN
THE_ACCOUNT = Securable(ACCOUNT, ACCOUNT)

_SYSTEM_HIERARCHY = {
    ACCOUNTADMIN: {SYSADMIN, SECURITYADMIN},
    SECURITYADMIN: {USERADMIN},
    SYSADMIN: set(),
    USERADMIN: set(),
    PUBLIC: set(),
}
_SYSTEM_ACCOUNT_PRIVILEGES = {
    SYSADMIN: {"CREATE DATABASE", "CREATE WAREHOUSE"},
    USERADMIN: {"CREATE ROLE", "CREATE USER"},
    SECURITYADMIN: {MANAGE_GRANTS},
}
#: Kinds whose objects are found in the emulator's catalog rather than in this model.
CATALOG_KINDS = ("DATABASE", "SCHEMA", "TABLE", "VIEW")


class ObjectCatalog(Protocol):
    """What the model needs to know about databases, schemas, tables and views (the emulator's catalog)."""

    def securable_exists(self, securable: Securable) -> bool:
        """Whether the database, schema, table or view exists."""

    def contents(self, container: Securable, kind: str) -> list[Securable]:
        """The schemas (``kind`` SCHEMA), tables or views directly or indirectly inside a database or schema."""


@dataclass
class User:
    name: str
    roles: set[str] = field(default_factory=set)
    default_role: str | None = None
    default_warehouse: str | None = None
    default_secondary_roles: Literal["ALL"] | tuple[str, ...] = ()


def insufficient_privileges(securable: Securable) -> ProgrammingError:
    """Snowflake's refusal of a statement on an object the role can see but may not operate on."""
    return ProgrammingError(
        msg=f"SQL access control error:\nInsufficient privileges to operate on {securable.kind.lower()} "
        f"'{securable.short_name}'",
        errno=3001,
        sqlstate="42501",
    )


def hidden(securable: Securable, *, reading: bool = False) -> ProgrammingError:
    """Snowflake's answer for an object the role has no privilege on: as if it did not exist."""
    kind = "Object" if reading and securable.kind in ("TABLE", "VIEW") else securable.kind.capitalize()
    return does_not_exist(kind, securable.name)


def no_current_context() -> ProgrammingError:
    return ProgrammingError(
        msg="SQL compilation error:\nObject does not exist, or operation cannot be performed.",
        errno=2043,
        sqlstate="02000",
    )


class AccessControl:
    """The account's roles, users, warehouses, ownership and grants; one per emulator."""

    def __init__(self, catalog: ObjectCatalog) -> None:
        self.catalog = catalog
        self.lock = threading.RLock()
        self.roles: dict[str, set[str]] = {role: set(children) for role, children in _SYSTEM_HIERARCHY.items()}
        self.users: dict[str, User] = {ADMIN_USER: User(ADMIN_USER, {ACCOUNTADMIN}, ACCOUNTADMIN)}
        self.warehouses: set[str] = set()
        self.owners: dict[Securable, str] = {Securable("ROLE", role): SYSADMIN for role in self.roles}
        self.grants: dict[Securable, dict[str, set[str]]] = {
            THE_ACCOUNT: {role: set(privileges) for role, privileges in _SYSTEM_ACCOUNT_PRIVILEGES.items()}
        }
        #: Whether users were created by SQL: from then on, every connection must name one of them.
        self.provisioned = False

    # -- roles --------------------------------------------------------------------------------------

    def hierarchy(self, role: str) -> set[str]:
        """``role`` and every role it inherits, PUBLIC included."""
        seen = {role, PUBLIC}
        pending = [role]
        while pending:
            for child in self.roles.get(pending.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    pending.append(child)
        return seen

    def user_roles(self, user: User) -> set[str]:
        """Every role the user may activate: those granted to it and all they inherit."""
        roles: set[str] = {PUBLIC}
        for role in user.roles:
            roles |= self.hierarchy(role)
        return roles

    def require_role(self, role: str) -> None:
        if role not in self.roles:
            raise does_not_exist("Role", role)

    # -- privileges ---------------------------------------------------------------------------------

    def owner(self, securable: Securable) -> str:
        return self.owners.get(securable, DEFAULT_OWNER)

    def database_owners(self) -> dict[str, str]:
        """The owner role of each database the model knows, by name; any other belongs to ``DEFAULT_OWNER``.

        ``SHOW DATABASES`` (column ``owner``) and ``INFORMATION_SCHEMA.DATABASES`` (``DATABASE_OWNER``) both report it.
        """
        with self.lock:
            return {securable.name: role for securable, role in self.owners.items() if securable.kind == "DATABASE"}

    def privileges(self, roles: set[str], securable: Securable) -> set[str]:
        """What ``roles`` together hold on ``securable``; OWNERSHIP implies every privilege of its kind."""
        if self.owner(securable) in roles:
            return {OWNERSHIP, *GRANTABLE.get(securable.kind, ())}
        held: set[str] = set()
        for role, privileges in self.grants.get(securable, {}).items():
            if role in roles:
                held |= privileges
        return held

    # -- effects of statements that succeeded -------------------------------------------------------

    def created(self, securable: Securable, owner: str) -> None:
        """A new object (or a replaced one, whose old grants are gone) belongs to ``owner``."""
        with self.lock:
            self.dropped(securable)
            self.owners[securable] = owner

    def dropped(self, securable: Securable) -> None:
        """Forget an object and everything inside it."""
        with self.lock:
            for known in [*self.owners, *self.grants]:
                if _inside_or_equal(known, securable):
                    self.owners.pop(known, None)
                    self.grants.pop(known, None)

    def renamed(self, old: Securable, new: Securable) -> None:
        """Grants follow an object to its new name (ALTER ... RENAME TO)."""
        with self.lock:
            self.dropped(new)
            self._move(old, new)

    def swapped(self, first: Securable, second: Securable) -> None:
        """``ALTER TABLE a SWAP WITH b`` exchanges the names, so each keeps its own grants under the other name."""
        with self.lock:
            parked = Securable(first.kind, f"{first.name}\0swap")
            self._move(first, parked)
            self._move(second, Securable(second.kind, first.name))
            self._move(parked, Securable(first.kind, second.name))

    def cloned(self, source: str, target: str, owner: str) -> None:
        """A database clone: owned by the cloning role, its children keep their source's grants and owners."""
        with self.lock:
            target_database = Securable("DATABASE", target)
            self.created(target_database, owner)
            for kind in ("SCHEMA", "TABLE", "VIEW"):
                for child in self.catalog.contents(target_database, kind):
                    original = Securable(kind, ".".join((source, *child.parts[1:])))
                    self.owners[child] = self.owner(original)
                    if original in self.grants:
                        self.grants[child] = {role: set(p) for role, p in self.grants[original].items()}

    def schema_cloned(self, source: Securable, target: Securable, owner: str) -> None:
        """A schema clone: owned by the cloning role; its tables and views keep their source's owners and grants.

        Snowflake: "If the source object is a database or schema, the clone inherits all granted privileges on the
        clones of all child objects contained in the source object" (user-guide/object-clone, access control), and
        the owner of each child is copied with them, as for a database clone.
        """
        with self.lock:
            self.created(target, owner)
            for kind in ("TABLE", "VIEW"):
                for child in self.catalog.contents(target, kind):
                    original = Securable(kind, f"{source.name}.{child.short_name}")
                    self.owners[child] = self.owner(original)
                    if original in self.grants:
                        self.grants[child] = {role: set(p) for role, p in self.grants[original].items()}

    def _move(self, old: Securable, new: Securable) -> None:
        for table in (self.owners, self.grants):
            for known in [key for key in table if _inside_or_equal(key, old)]:
                moved = Securable(known.kind, new.name + known.name[len(old.name) :])
                table[moved] = table.pop(known)  # type: ignore[assignment]


def _inside_or_equal(securable: Securable, container: Securable) -> bool:
    if securable == container:
        return True
    return container.kind in ("DATABASE", "SCHEMA") and securable.name.startswith(container.name + ".")


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
        raise ProgrammingError(
            msg="No active warehouse selected in the current session.  Select an active warehouse with the "
            "'use warehouse' command.\n",
            errno=606,
            sqlstate="57P03",
        )

    # -- access-control statements ------------------------------------------------------------------

    def execute(self, statement: AccessStatement) -> str:
        """Run an access-control statement against the model; returns Snowflake's status message."""
        handler: Callable[[AccessStatement], str] = getattr(self, f"_{type(statement).__name__}")
        with self.control.lock:
            return handler(statement)

    def _UseRole(self, statement: UseRole) -> str:  # noqa: N802 (named after the statement class)
        self.control.require_role(statement.role)
        self._require_assigned(statement.role)
        self.primary_role = statement.role
        return "Statement executed successfully."

    def _UseSecondaryRoles(self, statement: UseSecondaryRoles) -> str:  # noqa: N802
        if statement.roles == "NONE":
            self.secondary_roles = ()
        elif statement.roles == "ALL":
            self.secondary_roles = "ALL"
        else:
            for role in statement.roles:
                self.control.require_role(role)
                self._require_assigned(role)
            self.secondary_roles = statement.roles
        return "Statement executed successfully."

    def _UseWarehouse(self, statement: UseWarehouse) -> str:  # noqa: N802
        warehouse = Securable(WAREHOUSE, statement.name)
        if statement.name not in self.control.warehouses or not (self.unrestricted or self.uses(warehouse)):
            raise no_current_context()
        self.warehouse = statement.name
        return "Statement executed successfully."

    def _CreateRole(self, statement: CreateRole) -> str:  # noqa: N802
        exists = statement.name in self.control.roles
        if existing := self._create_account_object("CREATE ROLE", statement.name, exists, statement.if_not_exists):
            return existing
        self.control.roles[statement.name] = set()
        self.control.owners[Securable("ROLE", statement.name)] = self.primary_role
        return f"Role {statement.name} successfully created."

    def _CreateUser(self, statement: CreateUser) -> str:  # noqa: N802
        exists = statement.name in self.control.users
        if existing := self._create_account_object("CREATE USER", statement.name, exists, statement.if_not_exists):
            return existing
        user = User(statement.name)
        _set_user_properties(user, statement.properties)
        self.control.users[statement.name] = user
        self.control.owners[Securable("USER", statement.name)] = self.primary_role
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
        manages_grants = self.manages_grants()
        for securable in self._targets(statement.target):
            self._require_owner_or_manage_grants(securable)
            if not manages_grants and statement.role not in self.activated_roles():
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
        with self.create_statement():
            self.require("CREATE WAREHOUSE", THE_ACCOUNT)
            if statement.name in self.control.warehouses:
                if statement.if_not_exists:
                    return f"{statement.name} already exists, statement succeeded."
                if not statement.replace:
                    raise already_exists(statement.name)
                self._require_owner_or_manage_grants(warehouse)
        self.control.warehouses.add(statement.name)
        self.control.created(warehouse, self.primary_role)
        self.warehouse = statement.name  # as in Snowflake, a new warehouse becomes the session's current one
        return f"Warehouse {statement.name} successfully created."

    # -- helpers ------------------------------------------------------------------------------------

    def _create_account_object(self, privilege: str, name: str, exists: bool, if_not_exists: bool) -> str | None:
        """Check a CREATE ROLE/USER: the privilege (primary role), then what an existing object means."""
        with self.create_statement():
            self.require(privilege, THE_ACCOUNT)
        if not exists:
            return None
        if if_not_exists:
            return f"{name} already exists, statement succeeded."
        raise already_exists(name)

    def _require_assigned(self, role: str) -> None:
        if self.user is not None and role not in self.control.user_roles(self.user):
            raise ProgrammingError(
                msg=f"SQL access control error:\nRequested role '{role}' is not assigned to the executing user. "
                "Specify another role to activate.",
                errno=3013,
                sqlstate="42501",
            )

    def _require_manage_grants(self, securable: Securable) -> None:
        if not self.manages_grants():
            raise insufficient_privileges(Securable(ACCOUNT, self.account) if securable == THE_ACCOUNT else securable)

    def _require_owner_or_manage_grants(self, securable: Securable) -> None:
        if self.manages_grants():
            return
        if securable.kind in CATALOG_KINDS:
            self.require(OWNERSHIP, securable)
        elif not self.holds(OWNERSHIP, securable):
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


def _containers(securable: Securable) -> list[Securable]:
    """The database (and schema) an object sits in, outermost first."""
    parts = securable.parts
    if securable.kind in ("TABLE", "VIEW"):
        return [Securable("DATABASE", parts[0]), Securable("SCHEMA", ".".join(parts[:2]))]
    if securable.kind == "SCHEMA":
        return [Securable("DATABASE", parts[0])]
    return []


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
