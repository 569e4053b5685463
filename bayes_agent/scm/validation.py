"""Variables and their mechanisms, checked: domains, parents, CPT rows (paper §2.1).

A mechanism P(X | parents(X)) is given as data, a conditional probability table. Everything that
can be checked about it is checked here, once, when a model is built: the domain and the parent
names, one row per parent assignment, every value inside the domain, no negative entry, each
row summing to one. Rows keyed by parent *name* cannot be mixed up; positional keys are
checked against the domains, which catches a wrong order only when the parents' domains differ.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Hashable, Iterable, Iterator, Mapping, Sequence, Union

from .._numbers import FLOAT_SUM_TOL, check_probability, float_tolerance, is_negative, kind_of, parse_number, short, sums_to_one
from ..errors import InvalidArgument

if TYPE_CHECKING:
    import sympy

__all__ = ["Variable", "bernoulli", "format_row", "is_named_rows", "normalise_cpt", "order_that_fits",
           "parent_product", "point_mass", "shown_name", "topological_order"]

Number = Union[Fraction, float, "sympy.Expr"]


# ------------------------------------------------------------------------------------------------
# helpers for writing CPTs


def bernoulli(p: Any, *, true: Hashable = True, false: Hashable = False) -> dict:
    """A two-point distribution {true: p, false: 1 - p}; p may be a Fraction, float, str or symbol."""
    q = check_probability(p, "bernoulli(p)")
    return {false: 1 - q, true: q}


def point_mass(value: Hashable, domain: Sequence[Hashable]) -> dict:
    """δ_value over ``domain``: probability 1 at ``value``, 0 elsewhere (§2.2's delta)."""
    if value not in domain:
        raise InvalidArgument(f"point_mass: {value!r} is not in the domain {tuple(domain)!r}")
    return {v: Fraction(1 if v == value else 0) for v in domain}


# ------------------------------------------------------------------------------------------------
# variables


@dataclass(frozen=True)
class Variable:
    """A variable with a finite domain, its parents, and its mechanism P(X | parents) as a CPT.

    ``cpt`` maps each assignment of the parents (a tuple in ``parents`` order; a bare value is
    accepted when there is one parent) to a row ``{value: probability}``. A root's ``cpt`` is the
    row itself. Values left out of a row have probability 0; every row must sum to 1.

    Rows keyed by parent *name* are the recommended form, since their order cannot be mixed up:
    give a list of pairs ``[({"rain": True, "sprinkler": False}, row), ...]``. A positional key
    whose values only fit the parents in another order is refused with a message saying so; but
    when the parents' domains are the same (two booleans), a wrong order fits too and cannot be
    detected, so positional keys over same-size domains are unchecked.
    """

    name: str
    domain: tuple
    parents: tuple = ()
    cpt: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidArgument(f"a variable name must be a non-empty string, got {self.name!r}")
        if isinstance(self.domain, (str, bytes)) or not isinstance(self.domain, Iterable):
            raise InvalidArgument(
                f"variable {self.name!r}: the domain must be a sequence of values, got {self.domain!r}"
            )
        domain = tuple(self.domain)
        if not domain:
            raise InvalidArgument(f"variable {self.name!r}: the domain is empty")
        for v in domain:
            try:
                hash(v)
            except TypeError:
                raise InvalidArgument(
                    f"variable {self.name!r}: domain values must be hashable, got {v!r}"
                ) from None
        if len(set(domain)) != len(domain):
            raise InvalidArgument(f"variable {self.name!r}: the domain {domain!r} repeats a value")
        parents = (self.parents,) if isinstance(self.parents, str) else tuple(self.parents)
        for p in parents:
            if not isinstance(p, str) or not p:
                raise InvalidArgument(
                    f"variable {self.name!r}: parent names must be non-empty strings, got {p!r}"
                )
        if len(set(parents)) != len(parents):
            raise InvalidArgument(f"variable {self.name!r}: the parents {parents!r} repeat a name")
        if self.name in parents:
            raise InvalidArgument(f"variable {self.name!r} lists itself as a parent (a cycle)")
        if not isinstance(self.cpt, Mapping) and not is_named_rows(self.cpt):
            raise InvalidArgument(f"variable {self.name!r}: the CPT must be a mapping, or a list of "
                                  f"({{parent: value}}, row) pairs, got {_cpt_shape(self.cpt)}")
        object.__setattr__(self, "domain", domain)
        object.__setattr__(self, "parents", parents)


# ------------------------------------------------------------------------------------------------
# mechanisms as tables


def topological_order(names: Iterable[str], parents: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Every variable after its parents (depth first); a cycle is refused with its path."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            raise InvalidArgument("the parent graph has a cycle: " + " -> ".join(reversed(cycle)))
        state[name] = 1
        for p in parents[name]:
            visit(p, path + [name])
        state[name] = 2
        order.append(name)

    for name in names:
        visit(name, [])
    return tuple(order)


def normalise_cpt(var: "Variable", variables: Mapping[str, "Variable"]) -> dict[tuple, tuple[Number, ...]]:
    """Check a CPT against the domains and store it as {parent tuple: probs in domain order}."""
    parent_domains = [variables[p].domain for p in var.parents]
    if not isinstance(var.cpt, Mapping):
        return _named_rows(var, parent_domains)
    raw = dict(var.cpt)
    if not var.parents:
        # A root: the row itself, or {(): row}.
        if set(raw) == {()} and isinstance(raw[()], Mapping):
            raw = {(): raw[()]}
        else:
            raw = {(): raw}
    return _collect_rows(var, raw.items(), parent_domains)

def _named_rows(var: Variable, parent_domains: list[tuple]) -> dict[tuple, tuple[Number, ...]]:
    """Rows given as ({parent: value}, row) pairs: the names fix the order."""
    pairs = []
    for named, row in var.cpt:
        if set(named) != set(var.parents):
            raise InvalidArgument(
                f"variable {var.name!r}: the row for {dict(named)!r} must name exactly the parents "
                f"{var.parents!r}"
            )
        for p, dom in zip(var.parents, parent_domains):  # named in the user's form, not as a tuple
            if not _within(named[p], dom):
                raise InvalidArgument(
                    f"variable {var.name!r}: the row for {dict(named)!r} gives parent {p!r} the value "
                    f"{named[p]!r}, outside its domain {dom!r}"
                )
        pairs.append((tuple(named[p] for p in var.parents), row))
    return _collect_rows(var, pairs, parent_domains)

def _collect_rows(var: Variable, pairs: Iterable[tuple[Any, Any]],
                  parent_domains: list[tuple]) -> dict[tuple, tuple[Number, ...]]:
    """One row per parent assignment, none twice, none missing, each checked."""
    rows: dict[tuple, Mapping] = {}
    for key, row in pairs:
        parent_values = _row_key(var, key, parent_domains)
        if parent_values in rows:
            raise InvalidArgument(
                f"variable {var.name!r}: the CPT gives the row {format_row(var, parent_values)} twice"
            )
        rows[parent_values] = row
    table: dict[tuple, tuple[Number, ...]] = {}
    for parent_values in parent_product(parent_domains):
        if parent_values not in rows:
            raise InvalidArgument(
                f"variable {var.name!r}: the CPT has no row for {format_row(var, parent_values)}"
            )
        table[parent_values] = _check_row(var, parent_values, rows[parent_values])
    return table

def _row_key(var: Variable, key: Any, parent_domains: list[tuple]) -> tuple:
    n = len(var.parents)
    if n == 1 and not (isinstance(key, tuple) and len(key) == 1 and key[0] in parent_domains[0]):
        key = (key,)
    if not isinstance(key, tuple) or len(key) != n:
        raise InvalidArgument(
            f"variable {var.name!r}: CPT key {key!r} must be a tuple of values for the parents "
            f"{var.parents!r}"
        )
    for p, dom, value in zip(var.parents, parent_domains, key):
        if value not in dom:
            fits = order_that_fits(var.parents, parent_domains, key)
            if fits is not None:
                raise InvalidArgument(
                    f"variable {var.name!r}: CPT key {key!r} does not fit the declared parent order "
                    f"{var.parents!r} but fits {fits!r}; positional keys follow `parents`. Key the "
                    f"rows by name to rule this out: [({{{', '.join(f'{q!r}: ...' for q in var.parents)}}}, row), ...]"
                )
            raise InvalidArgument(
                f"variable {var.name!r}: CPT key {key!r} gives parent {p!r} the value {value!r}, "
                f"outside its domain {dom!r}"
            )
    return tuple(key)

def shown_name(name: str) -> str:
    """A variable's name as text: as it is when a plain identifier (``rain``), else quoted as
    ``repr`` quotes it (``'my var'``, ``'1'``), so it cannot be read as several names or a value."""
    return name if isinstance(name, str) and name.isidentifier() else repr(name)


def format_row(var: Variable, parent_values: tuple) -> str:
    """The parent assignment of a CPT row as text: ``rain=True, sprinkler=False``."""
    if not var.parents:
        return "(no parents)"
    return ", ".join(f"{shown_name(p)}={v!r}" for p, v in zip(var.parents, parent_values))

def _check_row(var: Variable, parent_values: tuple, row: Any) -> tuple[Number, ...]:
    where = f"variable {var.name!r}, row {format_row(var, parent_values)}"
    if not isinstance(row, Mapping):
        raise InvalidArgument(f"{where}: a CPT row must be a mapping {{value: probability}}, got {row!r}")
    for value in row:
        if value not in var.domain:
            raise InvalidArgument(
                f"{where}: value {value!r} is outside the domain {var.domain!r}"
            )
    probs = []
    for value in var.domain:
        p = parse_number(row[value], f"{where}, P({var.name}={value!r})") if value in row else Fraction(0)
        if is_negative(p):
            raise InvalidArgument(f"{where}: P({var.name}={value!r}) = {short(p)} is negative")
        probs.append(p)
    total = sum(probs, Fraction(0))
    tol = float_tolerance([row[v] for v in row])  # wider for float32 entries, as for a Mixture's rows
    if not sums_to_one(total, kind_of(probs), approx=any(isinstance(p, float) for p in probs), tol=tol):
        raise InvalidArgument(f"{where}: the probabilities sum to {short(total)}, not 1")
    if tol > FLOAT_SUM_TOL and kind_of(probs) == "float":  # float32 entries, widened: sum to 1 in float64
        probs = [p / total for p in probs]
    return tuple(probs)


def _cpt_shape(cpt: Any) -> str:
    """What an unusable CPT is, for its refusal: which item of a list is not a named row, and
    whether named and positional rows were mixed."""
    if not isinstance(cpt, (list, tuple)):
        return type(cpt).__name__
    kind = type(cpt).__name__
    if not cpt:
        return f"an empty {kind}"
    named = [isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Mapping) for item in cpt]
    odd = cpt[named.index(False)]
    hint = ("do not mix the two forms" if any(named) else
            "positional keys go in a mapping {key: row}" if isinstance(odd, tuple) and len(odd) == 2 else
            "a root's CPT is one row {value: probability}")
    return f"a {kind} whose item {short(repr(odd), 60)} is not such a pair ({hint})"


def is_named_rows(cpt: Any) -> bool:
    """A list (or tuple) of ({parent: value}, row) pairs."""
    if isinstance(cpt, (str, bytes, Mapping)) or not isinstance(cpt, (list, tuple)) or not cpt:
        return False
    return all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Mapping) for item in cpt)


def order_that_fits(parents: tuple, domains: list[tuple], key: tuple) -> tuple | None:
    """Another order of ``parents`` whose domains hold ``key``'s values, if there is one."""
    if len(parents) > 6:  # 7! orders and more: not worth guessing
        return None
    for perm in itertools.permutations(range(len(parents))):
        if all(_within(v, domains[j]) for v, j in zip(key, perm)):
            return tuple(parents[j] for j in perm)
    return None


def _within(value: Any, domain: tuple) -> bool:
    try:
        return value in domain
    except TypeError:
        return False


def parent_product(domains: Sequence[Sequence[Hashable]]) -> Iterator[tuple]:
    """Cartesian product with the last domain varying fastest (itertools.product's order)."""
    return itertools.product(*domains)
