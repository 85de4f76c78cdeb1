"""Snowflake's role-based access control, as far as the platform relies on it: the account's state.

``AccessControl`` holds the roles, users, warehouses, owners and grants of one emulated account, and what each
statement that succeeded changes about them. Who may run what is decided per session (``hn_testing._access_session``)
and per statement (``hn_testing._authorization``); access-control statements themselves (``USE ROLE``, ``GRANT`` ...)
run in ``hn_testing._access_statement_runner``. What is not modelled is listed under LIMITS in
``hn_testing.snowflake_emulator``.

What is modelled, and where it was read:

- **Roles and their hierarchy** (https://docs.snowflake.com/en/user-guide/security-access-control-overview):
  ``GRANT ROLE a TO ROLE b`` makes ``b`` inherit every privilege of ``a``; every role inherits ``PUBLIC``. The
  system roles exist from the start: ``ACCOUNTADMIN`` above ``SYSADMIN`` and ``SECURITYADMIN``, which is above
  ``USERADMIN``; ``SYSADMIN`` may create databases and warehouses, ``USERADMIN`` roles and users, ``SECURITYADMIN``
  holds ``MANAGE GRANTS``. One user, ``ADMIN``, holds ``ACCOUNTADMIN``, as the first user of a new account does.
- **Ownership and privileges** on the account, warehouses, databases, schemas, tables and views
  (https://docs.snowflake.com/en/user-guide/security-access-control-privileges): OWNERSHIP implies every
  privilege of the object's kind.
- **Clones** (https://docs.snowflake.com/en/user-guide/object-clone, "Access control privileges for cloned
  objects"): a cloned database belongs to the cloning session's primary role and does not inherit the grants of
  its source, while every schema, table and view inside keeps the grants of its source, OWNERSHIP included.
- **Renames and swaps** (https://docs.snowflake.com/en/sql-reference/sql/alter-table): a renamed table keeps its
  grants; two swapped tables exchange names, each keeping its own grants.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hn_testing._access_statements import ACCOUNT, GRANTABLE, OWNERSHIP, Securable
from hn_testing._snowflake_errors import does_not_exist

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
