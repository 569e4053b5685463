"""Discrete structural causal models and the do-operator by graph surgery (paper §2.1, §2.2).

A model is a DAG of variables with finite domains; each variable carries a mechanism, a
conditional probability table (CPT) P(X | parents(X)) given as data. The joint is the product
of the mechanisms; queries sum it exactly by variable elimination (:mod:`.elimination`), with
enumeration of the ancestors kept as the reference (``method="enumeration"``). ``do`` performs the paper's surgery: the intervened
variable's mechanism is *removed* and replaced by a point mass δ_{x*}(x) at the imposed value,
and its incoming arrows are cut (§2.2, the interventional joint after "replace the action factor
by a delta").

One implementation serves every number type: CPT entries may be exact ``Fraction`` (ints and
strings such as ``"3/10"`` are parsed into Fractions), floats, or sympy expressions (symbols give
closed forms; results are simplified). A model's number kind is decided once, by all its
entries, as Python's arithmetic would mix them: Fraction with float gives float, anything with
sympy gives sympy; a symbolic model reads its float entries as the rationals they were typed as
(0.3 is 3/10, by the rule of ``to_exact``), so no float noise enters its closed forms. Every
answer comes in that kind (``queries.in_kind``), also one whose query touches only exact entries
or only the point masses of ``do``.

The fire-engine story of §2.1 with two nodes (the teaching module uses a three-node chain):

```python
>>> fire = Variable("fire", (False, True), cpt=bernoulli("1/1000"))
>>> engine = Variable("engine", (False, True), parents=("fire",),
...                   cpt={False: bernoulli("1/19980"), True: bernoulli("19/20")})
>>> m = SCM([fire, engine])
>>> m.probability({"fire": True}, given={"engine": True})
Fraction(19, 20)
>>> m.probability({"fire": True}, do={"engine": True})
Fraction(1, 1000)
>>> m.do(engine=True).distribution("engine")
{False: Fraction(0, 1), True: Fraction(1, 1)}

```
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Mapping, Union

from .._numbers import (EXACT, SYMBOLIC, convert_row, float_of, is_symbolic, kind_of, parse_number, short, sympy_module,
                        typed_symbolic_row)
from ..errors import FloatUnderflow, InvalidArgument
from ..seeds import check_seed
from .factors import FactorView
from .queries import ENGINES, all_marginals, check_walk, evidence_mass, in_kind, tidy, weighted, zero
from .sampling import ancestral_sample
from .validation import (Variable, bernoulli, format_row, normalise_cpt, parent_product, point_mass, shown_name,
                         topological_order)

if TYPE_CHECKING:  # sympy is imported only when a model actually holds sympy expressions
    import sympy

__all__ = ["SCM", "Variable", "bernoulli", "point_mass"]

Number = Union[Fraction, float, "sympy.Expr"]
Assignment = Mapping[str, Hashable]


# ------------------------------------------------------------------------------------------------
# numbers: parsing, sign, zero and sum tests are the engine's (:mod:`bayes_agent._numbers`)


# ------------------------------------------------------------------------------------------------
# the model


class SCM:
    """A discrete structural causal model: exact joint, conditionals, and ``do`` by surgery (§2.2).

    Queries take three keyword parts: the event asked about, ``given`` (evidence, conditioned on
    by Bayes' rule) and ``do`` (interventions, applied by surgery *before* conditioning), so
    ``probability({"Y": y}, do={"X": x}, given={"Z": z})`` is P(Y=y | do(X=x), Z=z).

    Semantics of ``do`` (the paper's, not Pyro's): the intervened variable's mechanism is gone and
    a point mass sits in its place, so afterwards P(X = x*) = 1 and no unintervened copy of X
    survives. Pyro's ``poutine.do`` instead splits the site: downstream sites receive x* (recorded
    as an observed site under a mangled name), while a fresh sample site under X's own name still
    draws from the old mechanism, unused downstream, so that counterfactual queries stay possible.
    In a Pyro trace the site named X therefore keeps its old distribution; here, as in §2.2, only
    the interventional world exists after surgery, X is x* with probability 1, and X's parents and
    every other non-descendant of X keep their marginals.
    """

    def __init__(self, variables: Iterable[Variable], *, max_table_size: float | None = None) -> None:
        if isinstance(variables, (Variable, str, bytes)) or not isinstance(variables, Iterable):
            raise InvalidArgument("SCM expects an iterable of Variable objects")
        variables = tuple(variables)
        if not variables:
            raise InvalidArgument("an SCM needs at least one variable")
        by_name: dict[str, Variable] = {}
        for v in variables:
            if not isinstance(v, Variable):
                raise InvalidArgument(f"SCM expects Variable objects, got {type(v).__name__} {v!r}")
            if v.name in by_name:
                raise InvalidArgument(f"two variables are named {v.name!r}")
            by_name[v.name] = v
        for v in variables:
            for p in v.parents:
                if p not in by_name:
                    raise InvalidArgument(
                        f"variable {v.name!r} has unknown parent {p!r}; "
                        f"the variables are {sorted(by_name)}"
                    )
        self._vars = by_name
        self._names = tuple(v.name for v in variables)
        self._order = self._topological_order()
        self._tables = {v.name: normalise_cpt(v, by_name) for v in variables}
        #: the number kind of every answer (queries.in_kind): decided once by all the mechanisms,
        #: and kept by do(), whose point masses do not change it
        self._kind = kind_of(x for table in self._tables.values() for row in table.values() for x in row)
        if self._kind == SYMBOLIC:  # floats read as in exact arithmetic: one kind, no float noise
            self._tables = {n: {k: _symbolic_row(row) for k, row in table.items()}
                            for n, table in self._tables.items()}
        self._intervened: dict[str, Hashable] = {}
        self.max_table_size = max_table_size

    @property
    def max_table_size(self) -> float | None:
        """The most entries any table built by a query may hold (``None``: MAX_TABLE_SIZE of the
        query's number kind); larger queries raise TableTooLarge before any arithmetic. Checked
        whenever it is set, not only at construction."""
        return self._max_table_size

    @max_table_size.setter
    def max_table_size(self, value: float | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not value >= 1):
            raise InvalidArgument(f"max_table_size must be a number of entries >= 1, got {value!r}")
        self._max_table_size = value

    # structure ------------------------------------------------------------------------------------
    def _topological_order(self) -> tuple[str, ...]:
        return topological_order(self._names, {n: v.parents for n, v in self._vars.items()})

    @property
    def names(self) -> tuple[str, ...]:
        """Variable names in the order they were given (the order of ``joint`` tuples)."""
        return self._names

    @property
    def order(self) -> tuple[str, ...]:
        """A topological order: every variable after its parents."""
        return self._order

    @property
    def intervened(self) -> dict[str, Hashable]:
        """The interventions applied so far by ``do``: {name: imposed value}."""
        return dict(self._intervened)

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(self._vars[n] for n in self._names)

    def variable(self, name: str) -> Variable:
        self._check_name(name)
        return self._vars[name]

    def domain(self, name: str) -> tuple:
        return self.variable(name).domain

    def parents(self, name: str) -> tuple[str, ...]:
        return self.variable(name).parents

    def children(self, name: str) -> tuple[str, ...]:
        self._check_name(name)
        return tuple(n for n in self._names if name in self._vars[n].parents)

    def ancestors(self, name: str) -> frozenset[str]:
        """Every variable with a directed path into ``name`` (not ``name`` itself)."""
        self._check_name(name)
        seen: set[str] = set()
        stack = list(self._vars[name].parents)
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(self._vars[n].parents)
        return frozenset(seen)

    def descendants(self, name: str) -> frozenset[str]:
        """Every variable reachable from ``name`` along the arrows (not ``name`` itself)."""
        self._check_name(name)
        seen: set[str] = set()
        stack = list(self.children(name))
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(self.children(n))
        return frozenset(seen)

    def cpt(self, name: str) -> dict[tuple, dict[Hashable, Number]]:
        """The mechanism of ``name`` as {parent values: {value: probability}} (all rows, all values)."""
        var = self.variable(name)
        return {k: dict(zip(var.domain, row)) for k, row in self._tables[name].items()}

    def mechanism(self, name: str, value: Hashable, parent_values: Assignment | None = None) -> Number:
        """One CPT entry P(name = value | parents = parent_values)."""
        var = self.variable(name)
        self._check_value(name, value)
        parent_values = dict(parent_values or {})
        for p in parent_values:
            if p not in var.parents:
                raise InvalidArgument(f"{p!r} is not a parent of {name!r}; its parents are {var.parents!r}")
        missing = [p for p in var.parents if p not in parent_values]
        if missing:
            raise InvalidArgument(f"P({name} | ...) needs values for the parents {missing!r}")
        for p, v in parent_values.items():
            self._check_value(p, v)
        key = tuple(parent_values[p] for p in var.parents)
        return self._tables[name][key][var.domain.index(value)]

    # validation of queries --------------------------------------------------------------------
    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or name not in self._vars:
            raise InvalidArgument(f"unknown variable {name!r}; the variables are {list(self._names)}")

    def _check_value(self, name: str, value: Any) -> None:
        self._check_name(name)
        dom = self._vars[name].domain
        try:
            ok = value in dom
        except TypeError:
            ok = False
        if not ok:
            raise InvalidArgument(f"{name}={value!r} is outside the domain of {name!r}: {dom!r}")

    def _check_assignment(self, assignment: Any, what: str) -> dict[str, Hashable]:
        if assignment is None:
            return {}
        if not isinstance(assignment, Mapping):
            raise InvalidArgument(
                f"{what} must be a mapping {{variable: value}}, got {type(assignment).__name__} {assignment!r}"
            )
        out = dict(assignment)
        for name, value in out.items():
            self._check_value(name, value)
        return out

    # surgery ----------------------------------------------------------------------------------
    def do(self, interventions: Assignment | None = None, /, **kw: Hashable) -> "SCM":
        """The post-intervention model: each X in ``interventions`` loses its mechanism and parents
        and gets the point mass δ_{x*} instead (§2.2). Several variables at once, or chained."""
        both = dict(self._check_assignment(interventions, "interventions"))
        for name, value in kw.items():
            if name in both:
                raise InvalidArgument(f"do() was given {name!r} twice")
            both[name] = value
        both = self._check_assignment(both, "interventions")
        new_vars = []
        for v in self.variables:
            if v.name in both:
                new_vars.append(Variable(v.name, v.domain, (), point_mass(both[v.name], v.domain)))
            else:
                new_vars.append(v)
        out = SCM.__new__(SCM)
        out._vars = {v.name: v for v in new_vars}
        out._names = self._names
        out._order = self._order  # surgery only removes arrows: the old order stays topological
        out._tables = dict(self._tables)
        out._kind = self._kind
        out.max_table_size = self.max_table_size
        for name in both:
            out._tables[name] = normalise_cpt(out._vars[name], out._vars)
        out._intervened = {**self._intervened, **both}
        out._dense = self.__dict__.setdefault("_dense", {})  # elimination's arrays, keyed by table
        return out

    # the factor view (what elimination reads) -----------------------------------------------
    @property
    def factor_view(self) -> FactorView:
        """The mechanisms as dense factors with the graph and domains (:mod:`.factors`); built once
        per model, and it keeps the compiled query plans (:mod:`.plans`)."""
        view = self.__dict__.get("_view")
        if view is None:
            view = self._view = FactorView(self._order, {n: v.parents for n, v in self._vars.items()},
                                           {n: v.domain for n, v in self._vars.items()}, self._tables,
                                           self.__dict__.setdefault("_dense", {}), self._kind)
        return view

    def _prepare(self, given: Any, do: Any) -> tuple["SCM", dict]:
        given = self._check_assignment(given, "given")
        do = self._check_assignment(do, "do")
        model = self.do(do) if do else self
        return model, given

    def _check_enumeration(self, what: str) -> None:
        """joint() and expectation() walk every assignment: refuse (TableTooLarge) before any work
        when there are more than ``max_table_size`` of them (the query's kind's default if None)."""
        check_walk(self, self._names, (), what, "ask probability(), distribution() or marginals() "
                   "instead (they eliminate variables rather than enumerate), or raise max_table_size")

    # queries ----------------------------------------------------------------------------------
    def probability(self, event: Assignment, *, given: Assignment | None = None,
                    do: Assignment | None = None, method: str = "elimination") -> Number:
        """P(event | do(do), given), exactly: the surgery first, then Bayes' rule on the result.

        ``method="elimination"`` (default) sums by variable elimination with the event's variables
        fixed (a compiled plan, cached per query shape); ``"enumeration"`` walks every assignment
        of the ancestors (exponential; kept as the reference the tests check elimination against).
        Both give the same numbers and the same errors; each refuses (TableTooLarge) before any
        arithmetic a query above ``max_table_size``: elimination by its largest table, enumeration
        by the number of assignments it walks.
        """
        if event is None:
            raise InvalidArgument("the event must be a mapping {variable: value}, got None")
        event = self._check_assignment(event, "the event")
        engine = _engine(method)
        return in_kind(self, engine.probability(self, event, self._check_assignment(given, "given"),
                                                self._check_assignment(do, "do")))

    def distribution(self, name: str, *, given: Assignment | None = None,
                     do: Assignment | None = None, method: str = "elimination") -> dict[Hashable, Number]:
        """P(name | do(do), given) as {value: probability}, one entry per domain value."""
        self._check_name(name)
        engine = _engine(method)
        return in_kind(self, engine.distribution(self, name, self._check_assignment(given, "given"),
                                                 self._check_assignment(do, "do")))

    def marginals(self, *, given: Assignment | None = None,
                  do: Assignment | None = None) -> dict[str, dict[Hashable, Number]]:
        """Every variable's marginal {name: {value: probability}} under the same query, all in one
        two-pass message passing over the elimination tree (:mod:`.messages`), in the model's kind."""
        given, do = self._check_assignment(given, "given"), self._check_assignment(do, "do")
        return in_kind(self, all_marginals(self, given, do))

    def joint(self, *, given: Assignment | None = None,
              do: Assignment | None = None) -> dict[tuple, Number]:
        """The full joint {values in ``names`` order: probability}, zeros included (enumerated:
        the answer itself has one entry per assignment)."""
        model, given = self._prepare(given, do)
        model._check_enumeration("joint()")
        den = evidence_mass(model, given)
        no_mass = zero(model)
        out: dict[tuple, Number] = {
            k: no_mass for k in parent_product([model._vars[n].domain for n in model._names])
        }
        for assignment, w in weighted(model.factor_view, model._order, given):
            out[tuple(assignment[n] for n in model._names)] = w
        return in_kind(self, {k: tidy(p / den if given else p) for k, p in out.items()})

    def expectation(self, f: Callable[[dict], Any], *, given: Assignment | None = None,
                    do: Assignment | None = None) -> Number:
        """E[f(assignment) | do(do), given] over the full joint; f returns a number (a bool
        counts as 0/1, so ``lambda a: a["fire"]`` is P(fire))."""
        model, given = self._prepare(given, do)
        model._check_enumeration("expectation()")
        den = evidence_mass(model, given)
        total: Number = zero(model)
        for assignment, w in weighted(model.factor_view, model._order, given):
            value = f(dict(assignment))
            value = Fraction(int(value)) if isinstance(value, bool) else value
            total = total + w * parse_number(value, "expectation(f): f's value")
        return in_kind(self, tidy(total / den if given else total))

    # changing the numbers ---------------------------------------------------------------------
    def _map_entries(self, fn: Callable[[Number], Any], *, rows: bool = False) -> "SCM":
        """A copy with ``fn`` applied to every entry (``rows=True``: to every row tuple)."""
        new_vars = []
        for v in self.variables:
            table = self._tables[v.name]
            each = fn if rows else (lambda row: tuple(map(fn, row)))
            if v.parents:
                cpt = {k: dict(zip(v.domain, each(row))) for k, row in table.items()}
            else:
                cpt = dict(zip(v.domain, each(table[()])))
            new_vars.append(Variable(v.name, v.domain, v.parents, cpt))
        out = SCM(new_vars)
        out._intervened = dict(self._intervened)
        out.max_table_size = self.max_table_size
        return out

    def substitute(self, values: Mapping[Any, Any]) -> "SCM":
        """Replace sympy symbols (or symbol names) by values in every CPT entry, re-checking rows.
        Entries that become numbers are Fractions (exact values) or floats (a float given)."""
        if not isinstance(values, Mapping):
            raise InvalidArgument(f"substitute() expects a mapping {{symbol: value}}, got {values!r}")
        sympy = sympy_module()
        present = {str(sym): sym for sym in self.free_symbols}
        subs = {}
        for k, v in values.items():
            key = present.get(k) if isinstance(k, str) else k
            if not isinstance(key, sympy.Symbol) or key not in self.free_symbols:
                raise InvalidArgument(
                    f"substitute(): {k!r} is not a symbol of this model; its symbols are {sorted(present)}"
                )
            val = parse_number(v, f"substitute({key})")
            subs[key] = sympy.Rational(val.numerator, val.denominator) if isinstance(val, Fraction) else val

        def fn(x: Number) -> Number:
            if not is_symbolic(x):
                return x
            y = sympy.simplify(x.subs(subs))
            if isinstance(y, sympy.Rational):
                return Fraction(int(y.p), int(y.q))
            if isinstance(y, sympy.Float):  # a float given for a symbol: a Python float, as typed
                return float(y)
            return y

        try:
            return self._map_entries(fn)
        except InvalidArgument as e:  # say which substitution made a row invalid
            given = ", ".join(f"{k}={short(v)}" for k, v in subs.items())
            raise InvalidArgument(f"substitute({given}): {e}") from None

    def to_exact(self) -> "SCM":
        """The same model in exact rationals. A float row becomes the rationals it was typed as
        (0.333… and 0.666… are 1/3 and 2/3) when those sum to 1, else its shortest decimals when
        those do, else its floats' exact values rescaled to sum to exactly 1
        (:func:`~bayes_agent._numbers.convert_row`, the rule ``as_exact`` applies to a Mixture's
        rows), so ``to_exact(to_float(m))`` is ``m`` for rows of small-denominator rationals;
        symbols must be substituted first."""
        def row(entries: tuple) -> tuple:
            symbols = set().union(*(x.free_symbols for x in entries if is_symbolic(x)))
            if symbols:
                raise InvalidArgument(f"it holds the symbol(s) {', '.join(sorted(map(str, symbols)))}; "
                                      f"substitute values for them first")
            return tuple(convert_row(dict(enumerate(entries)), EXACT).values())

        try:
            return self._map_entries(row, rows=True)
        except InvalidArgument as e:  # say where: the message names only the number
            where = next(f"variable {v.name!r}, row {format_row(v, k)}" for v in self.variables
                         for k, r in self._tables[v.name].items() if _fails(row, r))
            raise InvalidArgument(f"cannot convert this model to exact rationals: {where}: {e}") from None

    def to_float(self) -> "SCM":
        """The same model with every CPT entry as a float (symbols must be substituted first)."""
        def fn(x: Number) -> float:
            if is_symbolic(x) and x.free_symbols:
                raise InvalidArgument(
                    f"cannot convert {x} to float: substitute values for {sorted(map(str, x.free_symbols))} first"
                )
            return float_of(x)

        try:
            return self._map_entries(fn)
        except FloatUnderflow as e:  # say where: the message names only the number
            where = next(f"variable {v.name!r}, row {format_row(v, k)}" for v in self.variables
                         for k, r in self._tables[v.name].items() if _fails(lambda row: [fn(x) for x in row], r, FloatUnderflow))
            raise FloatUnderflow(f"cannot convert this model to floats: {where}: {e}") from None

    @property
    def free_symbols(self) -> frozenset:
        """The sympy symbols appearing in any CPT entry."""
        out: set = set()
        for table in self._tables.values():
            for row in table.values():
                for x in row:
                    if is_symbolic(x):
                        out |= x.free_symbols
        return frozenset(out)

    # sampling ---------------------------------------------------------------------------------
    def sample(self, n: int, *, seed: int = 0, do: Assignment | None = None) -> dict[str, Any]:
        """``n`` ancestral samples (numpy, seeded, deterministic): {name: array of values}
        (:func:`.sampling.ancestral_sample`)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidArgument(f"sample(n): n must be a non-negative int, got {n!r}")
        seed = check_seed(seed, "sample(seed)")
        model, _ = self._prepare(None, do)
        if model.free_symbols:
            raise InvalidArgument(
                f"cannot sample a symbolic model: substitute values for "
                f"{sorted(map(str, model.free_symbols))} first"
            )
        try:
            return ancestral_sample(model, n, seed)
        except (ValueError, MemoryError) as e:  # numpy cannot hold n draws
            raise InvalidArgument(f"sample(n): cannot hold {n} draws of {len(model.names)} variables in memory "
                                  f"({type(e).__name__}: {e})") from None

    # display ----------------------------------------------------------------------------------
    def describe(self) -> str:
        """The graph and every mechanism as text; intervened variables are marked do(...). Names
        that are not plain identifiers are quoted (``'my var'``)."""
        lines = []
        for name in self._order:
            var, shown = self._vars[name], shown_name(name)
            head = f"{shown} in {list(var.domain)!r}"
            if name in self._intervened:
                head += f"  [do({shown}={self._intervened[name]!r}): mechanism replaced by a point mass]"
            elif var.parents:
                head += f"  <- {', '.join(map(shown_name, var.parents))}"
            lines.append(head)
            for key, row in self._tables[name].items():
                cond = f" | {format_row(var, key)}" if var.parents else ""
                entries = ", ".join(f"{v!r}: {_fmt_number(p)}" for v, p in zip(var.domain, row))
                lines.append(f"    P({shown}{cond}) = {{{entries}}}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        parts = [f"{shown_name(n)}<-({','.join(map(shown_name, self._vars[n].parents))})"
                 if self._vars[n].parents else shown_name(n) for n in self._order]
        surgery = f", do={self._intervened!r}" if self._intervened else ""
        return f"SCM([{', '.join(parts)}]{surgery})"


METHODS = ("elimination", "enumeration")


def _engine(method: Any) -> Any:
    if method not in METHODS:
        raise InvalidArgument(f"method must be one of {METHODS}, got {method!r}")
    return ENGINES[method]


def _fmt_number(x: Number) -> str:
    """A mechanism entry as text: exact unless its digits would flood the line (then ≈ 6 digits)."""
    return short(x, 40)


def _symbolic_row(row: tuple) -> tuple:
    """A CPT row of a symbolic model with its floats as sympy rationals, by the engine's rule
    (:func:`~bayes_agent._numbers.typed_symbolic_row`, then :func:`~bayes_agent._numbers.convert_row`)."""
    return tuple(convert_row(typed_symbolic_row(dict(enumerate(row))), SYMBOLIC).values())


def _fails(fn: Callable[[tuple], Any], row: tuple, error: type[Exception] = InvalidArgument) -> bool:
    """Does ``fn`` refuse ``row`` (raise ``error``)? (Finds the row a conversion's error came from.)"""
    try:
        fn(row)
    except error:
        return True
    return False
