"""The access-control statements the emulator understands, parsed from sqlglot's Snowflake dialect.

sqlglot 30 parses ``USE ROLE``, ``USE SECONDARY ROLES``, ``CREATE WAREHOUSE`` and simple ``GRANT``/``REVOKE``
into expressions, but falls back to an opaque ``exp.Command`` for ``CREATE ROLE``, ``CREATE USER``, ``ALTER USER``,
``GRANT ROLE``, ``GRANT OWNERSHIP`` and grants ``ON ALL ... IN``. This module reads both with one small grammar over
sqlglot's own Snowflake tokens (so quoting, strings and comments are Snowflake's), following the syntax of
https://docs.snowflake.com/en/sql-reference/sql/grant-privilege, .../grant-ownership, .../grant-role,
.../create-role, .../create-user and .../use-secondary-roles.

``parse_access_statement`` returns ``None`` for a statement that is not about access control, and raises
``AccessStatementError`` for one that is but does not fit the grammar, so that a typo in a provisioning script
fails loudly instead of being ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlglot import exp
from sqlglot.dialects.snowflake import Snowflake
from sqlglot.tokens import Token, TokenType

#: Object kinds whose grants the emulator models, singular -> plural (as in ``ON ALL TABLES IN ...``).
OBJECT_KINDS = {"DATABASE": "DATABASES", "SCHEMA": "SCHEMAS", "TABLE": "TABLES", "VIEW": "VIEWS"}
ACCOUNT = "ACCOUNT"
WAREHOUSE = "WAREHOUSE"

#: Privileges that may be granted on each kind of securable (a subset of Snowflake's, enough for the platform).
#: ``ALL [PRIVILEGES]`` expands to every privilege of the kind except OWNERSHIP, as in Snowflake.
GRANTABLE = {
    ACCOUNT: ("CREATE DATABASE", "CREATE WAREHOUSE", "CREATE ROLE", "CREATE USER", "MANAGE GRANTS"),
    WAREHOUSE: ("USAGE", "OPERATE", "MONITOR", "MODIFY"),
    "DATABASE": ("USAGE", "CREATE SCHEMA", "MONITOR", "MODIFY"),
    "SCHEMA": ("USAGE", "CREATE TABLE", "CREATE VIEW", "MONITOR", "MODIFY"),
    "TABLE": ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES"),
    "VIEW": ("SELECT", "REFERENCES"),
}
OWNERSHIP = "OWNERSHIP"


class AccessStatementError(ValueError):
    """An access-control statement that does not fit Snowflake's grammar (as far as the emulator models it)."""


@dataclass(frozen=True, order=True)
class Securable:
    """One object: ``kind`` is ACCOUNT, WAREHOUSE, DATABASE, SCHEMA, TABLE or VIEW; ``name`` fully qualified."""

    kind: str
    name: str

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    @property
    def short_name(self) -> str:
        """The last part of the name, as Snowflake quotes it in "Insufficient privileges to operate on ..."."""
        return self.parts[-1]


@dataclass(frozen=True)
class AllIn:
    """``ALL <kind plural> IN { DATABASE | SCHEMA } <container>``: every existing object of ``kind`` inside."""

    kind: str
    container: Securable


Target = Securable | AllIn


@dataclass(frozen=True)
class CreateRole:
    name: str
    if_not_exists: bool


@dataclass(frozen=True)
class CreateUser:
    name: str
    if_not_exists: bool
    properties: dict[str, str | tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AlterUser:
    name: str
    if_exists: bool
    properties: dict[str, str | tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class GrantRole:
    role: str
    grantee_kind: Literal["ROLE", "USER"]
    grantee: str
    revoke: bool = False


@dataclass(frozen=True)
class GrantPrivileges:
    privileges: tuple[str, ...]
    target: Target
    role: str
    revoke: bool = False


@dataclass(frozen=True)
class GrantOwnership:
    target: Target
    role: str
    current_grants: Literal["COPY", "REVOKE"] | None


@dataclass(frozen=True)
class UseRole:
    role: str


@dataclass(frozen=True)
class UseSecondaryRoles:
    """``roles`` is ``"ALL"``, ``"NONE"`` or the names listed."""

    roles: Literal["ALL", "NONE"] | tuple[str, ...]


@dataclass(frozen=True)
class CreateWarehouse:
    name: str
    if_not_exists: bool
    replace: bool


@dataclass(frozen=True)
class UseWarehouse:
    name: str


AccessStatement = (
    CreateRole
    | CreateUser
    | AlterUser
    | GrantRole
    | GrantPrivileges
    | GrantOwnership
    | UseRole
    | UseSecondaryRoles
    | CreateWarehouse
    | UseWarehouse
)

_COMMAND_HEADS = {
    "CREATE": ("ROLE", "USER"),
    "ALTER": ("USER",),
    "GRANT": (),  # every GRANT is about access control
    "REVOKE": (),
}


def parse_access_statement(expression: exp.Expr) -> AccessStatement | None:
    """The access-control statement ``expression`` is, or ``None`` if it is about something else."""
    if isinstance(expression, exp.Use):
        return _use(expression)
    if isinstance(expression, exp.Create) and str(expression.args.get("kind") or "").upper() == WAREHOUSE:
        return CreateWarehouse(
            object_name(expression.this), bool(expression.args.get("exists")), bool(expression.args.get("replace"))
        )
    if isinstance(expression, (exp.Grant, exp.Revoke)):
        return _Grammar(expression.sql(dialect="snowflake")).statement()
    if isinstance(expression, exp.Command):
        head = str(expression.this).upper()
        rest = str(expression.expression or "")
        words = rest.split(None, 1)
        if head in _COMMAND_HEADS and (
            not _COMMAND_HEADS[head] or (words and words[0].upper() in _COMMAND_HEADS[head])
        ):
            return _Grammar(f"{head} {rest}").statement()
    return None


def _use(expression: exp.Use) -> AccessStatement | None:
    kind = str(expression.args.get("kind") or "").upper()
    if kind == "ROLE":
        return UseRole(object_name(expression.this))
    if kind == WAREHOUSE:
        return UseWarehouse(object_name(expression.this))
    if kind == "SECONDARY ROLES":
        if isinstance(expression.this, exp.Var):
            return UseSecondaryRoles("ALL" if expression.this.name.upper() == "ALL" else "NONE")
        return UseSecondaryRoles(tuple(object_name(role) for role in expression.expressions))
    return None


def object_name(node: exp.Expr) -> str:
    """An object name as Snowflake stores it: unquoted parts upper-cased, quoted ones kept."""
    if isinstance(node, exp.Table):
        parts = [part for part in (node.args.get("catalog"), node.args.get("db"), node.this) if part is not None]
        return ".".join(object_name(part) for part in parts)
    if isinstance(node, exp.Identifier):
        return node.name if node.quoted else node.name.upper()
    return node.name.upper()


class _Grammar:
    """A recursive-descent reader of one statement's Snowflake tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = [t for t in Snowflake().tokenize(text) if t.token_type != TokenType.SEMICOLON]
        self.position = 0

    # -- token helpers ------------------------------------------------------------------------------

    def _peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def _word(self, offset: int = 0) -> str:
        token = self._peek(offset)
        return (
            "" if token is None or token.token_type in (TokenType.STRING, TokenType.IDENTIFIER) else token.text.upper()
        )

    def _accept(self, *words: str) -> bool:
        if all(self._word(offset) == word for offset, word in enumerate(words)):
            self.position += len(words)
            return True
        return False

    def _at(self, token_type: TokenType) -> bool:
        token = self._peek()
        return token is not None and token.token_type == token_type

    def _fail(self, expected: str) -> AccessStatementError:
        found = self._peek()
        where = f"'{found.text}'" if found else "the end"
        return AccessStatementError(f"syntax error in {self.text!r}: expected {expected}, found {where}")

    def _expect(self, *words: str) -> None:
        if not self._accept(*words):
            raise self._fail(" ".join(words))

    def _one_of(self, *words: str) -> str:
        for word in words:
            if self._accept(word):
                return word
        raise self._fail(" or ".join(words))

    def _name_part(self) -> str:
        token = self._peek()
        if token is None or token.token_type in (TokenType.STRING, TokenType.EQ, TokenType.DOT, TokenType.COMMA):
            raise self._fail("a name")
        self.position += 1
        return token.text if token.token_type == TokenType.IDENTIFIER else token.text.upper()

    def _name(self) -> str:
        parts = [self._name_part()]
        while self._at(TokenType.DOT):
            self.position += 1
            parts.append(self._name_part())
        return ".".join(parts)

    def _end(self) -> None:
        if self._peek() is not None:
            raise self._fail("the end of the statement")

    # -- statements ---------------------------------------------------------------------------------

    def statement(self) -> AccessStatement:
        verb = self._one_of("CREATE", "ALTER", "GRANT", "REVOKE")
        statement: AccessStatement
        if verb == "CREATE":
            statement = self._create()
        elif verb == "ALTER":
            self._expect("USER")
            if_exists = self._accept("IF", "EXISTS")
            name = self._name()
            self._expect("SET")
            statement = AlterUser(name, if_exists, self._properties())
        else:
            statement = self._grant(revoke=verb == "REVOKE")
        self._end()
        return statement

    def _create(self) -> AccessStatement:
        kind = self._one_of("ROLE", "USER")
        if_not_exists = self._accept("IF", "NOT", "EXISTS")
        name = self._name()
        properties = self._properties()
        if kind == "ROLE":
            unknown = set(properties) - {"COMMENT"}
            if unknown:
                raise AccessStatementError(f"CREATE ROLE {name}: unknown properties {sorted(unknown)}")
            return CreateRole(name, if_not_exists)
        return CreateUser(name, if_not_exists, properties)

    def _properties(self) -> dict[str, str | tuple[str, ...]]:
        properties: dict[str, str | tuple[str, ...]] = {}
        while self._peek() is not None:
            key = self._name_part()
            self._expect("=")
            properties[key] = self._value()
        return properties

    def _value(self) -> str | tuple[str, ...]:
        """A property value: a name, a string, or a parenthesized list of them (``DEFAULT_SECONDARY_ROLES``)."""
        if self._at(TokenType.STRING):
            self.position += 1
            return self.tokens[self.position - 1].text
        if not self._at(TokenType.L_PAREN):
            return self._name()
        self.position += 1
        values: list[str] = []
        while not self._at(TokenType.R_PAREN):
            if self._at(TokenType.STRING):
                values.append(self.tokens[self.position].text)
                self.position += 1
            else:
                values.append(self._name())
            if not self._at(TokenType.COMMA):
                break
            self.position += 1
        if not self._at(TokenType.R_PAREN):
            raise self._fail("')'")
        self.position += 1
        return tuple(values)

    def _grant(self, *, revoke: bool) -> AccessStatement:
        if self._accept("ROLE"):
            role = self._name()
            self._expect("FROM" if revoke else "TO")
            grantee_kind = self._one_of("ROLE", "USER")
            return GrantRole(role, grantee_kind, self._name(), revoke=revoke)  # type: ignore[arg-type]
        if not revoke and self._accept(OWNERSHIP):
            self._expect("ON")
            target = self._target()
            self._expect("TO", "ROLE")
            role = self._name()
            current: Literal["COPY", "REVOKE"] | None = None
            if self._word() in ("COPY", "REVOKE"):
                current = self._one_of("COPY", "REVOKE")  # type: ignore[assignment]
                self._expect("CURRENT", "GRANTS")
            return GrantOwnership(target, role, current)
        privileges = self._privileges()
        self._expect("ON")
        target = self._target()
        self._expect("FROM" if revoke else "TO")
        self._expect("ROLE")
        role = self._name()
        return GrantPrivileges(_expand(privileges, target.kind), target, role, revoke=revoke)

    def _privileges(self) -> tuple[str, ...]:
        """``USAGE, CREATE SCHEMA``: privileges of one or more words, separated by commas, up to ``ON``."""
        privileges: list[str] = []
        while True:
            words = [self._name_part()]
            while self._word() not in ("", "ON") and not self._at(TokenType.COMMA):
                words.append(self._name_part())
            privileges.append(" ".join(words))
            if not self._at(TokenType.COMMA):
                return tuple(privileges)
            self.position += 1

    def _target(self) -> Target:
        if self._accept(ACCOUNT):
            return Securable(ACCOUNT, ACCOUNT)
        if self._accept("FUTURE"):
            raise AccessStatementError(f"{self.text!r}: future grants are not modelled by the emulator")
        if self._accept("ALL"):
            plural = self._name_part()
            kinds = {plural_name: kind for kind, plural_name in OBJECT_KINDS.items()}
            if plural not in kinds or plural == "DATABASES":
                raise AccessStatementError(f"{self.text!r}: ALL {plural} is not modelled by the emulator")
            self._expect("IN")
            container_kind = self._one_of("DATABASE", "SCHEMA")
            return AllIn(kinds[plural], Securable(container_kind, self._name()))
        kind = self._one_of(WAREHOUSE, *OBJECT_KINDS)
        return Securable(kind, self._name())


def _expand(privileges: tuple[str, ...], kind: str) -> tuple[str, ...]:
    """Validate privilege names for ``kind`` and expand ``ALL [PRIVILEGES]``."""
    allowed = GRANTABLE[kind]
    if privileges in (("ALL",), ("ALL PRIVILEGES",)):
        return allowed
    unknown = [privilege for privilege in privileges if privilege not in allowed]
    if unknown:
        raise AccessStatementError(
            f"privilege {', '.join(unknown)} cannot be granted on a {kind.lower()} "
            f"(the emulator models: {', '.join(allowed)})"
        )
    return privileges
