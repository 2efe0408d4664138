"""Itanium C++ ABI demangler (GCC and Clang on Arm and RISC-V): turns ELF symbol names such as
`_ZN6tflite16MicroInterpreter6InvokeEv` into `tflite::MicroInterpreter::Invoke` so that a user can
name a C++ function the way the source spells it.

Grammar: Itanium C++ ABI, section 5.1 "External Names (a.k.a. Mangling)"
(https://itanium-cxx-abi.github.io/cxx-abi/abi.html#mangling): <encoding>, <nested-name>,
<local-name>, <template-args>, <substitution> (5.1.10, "Compression"), <special-name>. Output
follows GNU c++filt (binutils libiberty cp-demangle.c): `demangle(s)` is `c++filt -p s` (no return
type, no parameters, no clone suffixes) and `demangle(s, params=True)` is `c++filt s`.

Covered: nested, local, unscoped and std:: names, substitutions and the abbreviations St Sa Sb Ss
Si So Sd, template arguments (types, literals, argument packs, template parameters, simple
expressions), constructors and destructors, operator names and conversions, ABI tags, lambdas and
unnamed types, the builtin, qualified, pointer, reference, function, array and pointer-to-member
types, special names (vtable, typeinfo, VTT, guard variables, thunks) and GCC's clone suffixes
(`.isra.0`, `.constprop.0`, `.part.0`). Anything else (vector types, most expressions) makes the
parse fail, and then the input is returned unchanged, as it is for a name that is not mangled.
"""

from __future__ import annotations

import re

__all__ = ["demangle", "is_mangled"]

from vbench.sim.demangle_nodes import (  # noqa: F401 (the tables and nodes the parser builds)
    Array,
    BUILTIN,
    BUILTIN_D,
    CV,
    Expansion,
    Function,
    LITERAL_SUFFIX,
    MemberPointer,
    Name,
    Node,
    OPERATORS,
    Pack,
    Pointer,
    Qualified,
    STD_ABBREV,
    Templated,
    _CLONE,
    _Fail,
    _params,
)


# ====================================================================== the parser
class _Parser:
    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.subs: list[Node] = []
        self.tparams: list[Node] = []

    # ------------------------------------------------------------ scanning
    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.s[j] if j < len(self.s) else ""

    def startswith(self, prefix: str) -> bool:
        return self.s.startswith(prefix, self.i)

    def eat(self, prefix: str) -> bool:
        if self.s.startswith(prefix, self.i):
            self.i += len(prefix)
            return True
        return False

    def need(self, prefix: str) -> None:
        if not self.eat(prefix):
            raise _Fail(f"expected {prefix!r} at {self.i}")

    def at_end(self) -> bool:
        return self.i >= len(self.s) or self.peek() in ".E"

    def number(self) -> int:
        neg = self.eat("n")
        j = self.i
        while self.peek().isdigit():
            self.i += 1
        if j == self.i:
            raise _Fail(f"expected a number at {self.i}")
        value = int(self.s[j:self.i])
        return -value if neg else value

    def seq_id(self) -> int:
        """<seq-id> _ : base 36 with digits 0-9A-Z; absent is 0, present is value + 1."""
        if self.eat("_"):
            return 0
        j = self.i
        while self.peek().isdigit() or self.peek().isupper():
            self.i += 1
        if j == self.i or not self.eat("_"):
            raise _Fail("bad seq-id")
        return int(self.s[j:self.i - 1], 36) + 1

    # ------------------------------------------------------------ top level
    def mangled(self) -> tuple[Node, Node | None, list[Node] | None, str]:
        """_Z <encoding>: (name, return type, parameters or None for data, trailing qualifiers)."""
        self.need("_Z")
        return self.encoding()

    def encoding(self) -> tuple[Node, Node | None, list[Node] | None, str]:
        special = self.special_name()
        if special is not None:
            return special, None, None, ""
        state = {"templated": False, "ctor": False, "quals": ""}
        name = self.name(state)
        if self.at_end():
            return name, None, None, state["quals"]
        ret = None
        if state["templated"] and not state["ctor"]:
            ret = self.type()
        params = self.bare_function_type()
        return name, ret, params, state["quals"]

    def bare_function_type(self) -> list[Node]:
        params = []
        while not self.at_end():
            params.append(self.type())
        if not params:
            raise _Fail("function without parameter types")
        return params

    def special_name(self) -> Node | None:
        for code, text in (("TV", "vtable for "), ("TT", "VTT for "), ("TI", "typeinfo for "),
                           ("TS", "typeinfo name for ")):
            if self.eat(code):
                return Name(text + str(self.type()))
        if self.eat("GTt"):
            return Name("transaction clone for " + self._full(self.encoding()))
        if self.eat("GV"):
            return Name("guard variable for " + str(self.name({})))
        if self.eat("GR"):
            name = self.name({})
            n = self.seq_id() - 1 if self.peek() != "" else 0
            return Name(f"reference temporary #{max(n, 0)} for {name}")
        if self.eat("TW"):
            return Name("TLS wrapper function for " + str(self.name({})))
        if self.eat("TH"):
            return Name("TLS init function for " + str(self.name({})))
        if self.eat("Th"):
            self.number()
            self.need("_")
            return Name("non-virtual thunk to " + self._full(self.encoding()))
        if self.eat("Tv"):
            self.number()
            self.need("_")
            self.number()
            self.need("_")
            return Name("virtual thunk to " + self._full(self.encoding()))
        if self.eat("Tc"):
            for _ in range(2):
                if self.eat("h"):
                    self.number()
                else:
                    self.need("v")
                    self.number()
                    self.need("_")
                    self.number()
                self.need("_")
            return Name("covariant return thunk to " + self._full(self.encoding()))
        if self.eat("TC"):
            t1 = self.type()
            self.number()
            self.need("_")
            t2 = self.type()
            return Name(f"construction vtable for {t2}-in-{t1}")
        return None

    @staticmethod
    def _full(enc: tuple[Node, Node | None, list[Node] | None, str]) -> str:
        name, ret, params, quals = enc
        if params is None:
            return str(name) + quals
        head = f"{ret} " if ret is not None else ""
        return f"{head}{name}{_params(params)}{quals}"

    # ------------------------------------------------------------ names
    def name(self, state: dict) -> Node:
        c = self.peek()
        if c == "N":
            return self.nested_name(state)
        if c == "Z":
            return self.local_name(state)
        is_sub = False
        if self.startswith("St"):
            self.i += 2
            node = Qualified(Name("std"), self.unqualified_name(state))
        elif c == "S":
            node = self.substitution()
            is_sub = True
        else:
            node = self.unqualified_name(state)
        if self.peek() == "I":
            if not is_sub:
                self.subs.append(node)
            node = Templated(node, self.template_args(tag=True))
            state["templated"] = True
        elif is_sub:
            raise _Fail("substitution used as a name without template arguments")
        return node

    def nested_name(self, state: dict) -> Node:
        self.need("N")
        quals = self.cv_qualifiers()
        ref = " &&" if self.eat("O") else " &" if self.eat("R") else ""
        state["quals"] = quals + ref
        so_far: Node | None = None
        while not self.eat("E"):
            state["templated"] = False
            c = self.peek()
            if c == "T":
                if so_far is not None:
                    raise _Fail("template parameter inside a prefix")
                so_far = self.template_param()
            elif c == "I":
                if so_far is None:
                    raise _Fail("template arguments without a name")
                so_far = Templated(so_far, self.template_args(tag=True))
                state["templated"] = True
            elif c == "S" and self.peek(1) != "t":
                if so_far is not None:
                    raise _Fail("substitution inside a prefix")
                so_far = self.substitution()
                continue  # not a new substitution candidate
            elif c == "S":
                self.i += 2
                if so_far is not None:
                    raise _Fail("std inside a prefix")
                so_far = Name("std")
                continue
            elif c == "":
                raise _Fail("unterminated nested name")
            else:
                state["ctor"] = False
                part = self.unqualified_name(state, scope=so_far)
                so_far = part if so_far is None else Qualified(so_far, part)
            self.subs.append(so_far)
            self.eat("M")
        if so_far is None:
            raise _Fail("empty nested name")
        self.subs.pop()
        return so_far

    def local_name(self, state: dict) -> Node:
        self.need("Z")
        outer = self._full(self.encoding())
        self.need("E")
        if self.eat("s"):
            self.discriminator()
            return Name(f"{outer}::string literal")
        if self.eat("d"):
            if self.peek() != "_":
                self.number()
            self.need("_")
        inner = self.name(state)
        self.discriminator()
        return Qualified(Name(outer), inner)

    def discriminator(self) -> None:
        if self.startswith("__"):
            self.i += 2
            self.number()
            self.need("_")
        elif self.startswith("_") and self.peek(1).isdigit():
            self.i += 1
            self.number()

    def unqualified_name(self, state: dict, scope: Node | None = None) -> Node:
        self.eat("L")  # internal linkage (GCC)
        c = self.peek()
        if c.isdigit():
            node = self.source_name()
        elif c == "C" and self.peek(1) in "123I" or c == "D" and self.peek(1) in "012":
            if scope is None:
                raise _Fail("constructor without a class")
            base = getattr(scope, "base", str(scope))
            kind = self.s[self.i + 1]
            self.i += 2
            if kind == "I":  # inheriting constructor: CI1 <base class type>
                self.need_one("12")
                self.type()
            state["ctor"] = True
            node = Name(("~" if c == "D" else "") + base)
        elif c == "U":
            node = self.unnamed_type()
        elif c == "D" and self.peek(1) == "C":
            self.i += 2
            names = []
            while not self.eat("E"):
                names.append(str(self.source_name()))
            node = Name("[" + ", ".join(names) + "]")
        else:
            node = self.operator_name(state)
        while self.eat("B"):  # ABI tags
            tag = self.source_name()
            node = Name(f"{node}[abi:{tag}]", getattr(node, "base", None))
        return node

    def need_one(self, chars: str) -> str:
        c = self.peek()
        if not c or c not in chars:
            raise _Fail(f"expected one of {chars!r}")
        self.i += 1
        return c

    def source_name(self) -> Name:
        n = self.number()
        if n <= 0 or self.i + n > len(self.s):
            raise _Fail("bad source name length")
        ident = self.s[self.i:self.i + n]
        self.i += n
        if re.match(r"_GLOBAL_[._$]N", ident):
            return Name("(anonymous namespace)")
        return Name(ident)

    def unnamed_type(self) -> Node:
        if self.eat("Ut"):
            n = 1 if self.eat("_") else self.number() + 2
            if n != 1:
                self.need("_")
            return Name(f"{{unnamed type#{n}}}")
        self.need("Ul")
        params = []
        while not self.eat("E"):
            params.append(self.type())
        n = 1 if self.eat("_") else self.number() + 2
        if n != 1:
            self.need("_")
        return Name(f"{{lambda{_params(params)}#{n}}}")

    def operator_name(self, state: dict) -> Node:
        two = self.s[self.i:self.i + 2]
        if two == "cv":
            self.i += 2
            state["ctor"] = True  # a conversion has no mangled return type
            return Name(f"operator {self.type()}")
        if two == "li":
            self.i += 2
            return Name(f'operator"" {self.source_name()}')
        if len(two) == 2 and two[0] == "v" and two[1].isdigit():
            self.i += 2
            return Name(f"operator {self.source_name()}")
        if two in OPERATORS:
            self.i += 2
            text = OPERATORS[two][0]
            sep = " " if text[0].isalpha() else ""
            return Name(f"operator{sep}{text}")
        raise _Fail(f"unknown name at {self.i}: {self.s[self.i:self.i + 8]!r}")

    def substitution(self) -> Node:
        self.need("S")
        c = self.peek()
        if c in STD_ABBREV and c != "":
            self.i += 1
            text, base = STD_ABBREV[c]
            return Name(text, base)
        k = self.seq_id()
        if k >= len(self.subs):
            raise _Fail(f"substitution S{k} out of range")
        return self.subs[k]

    # ------------------------------------------------------------ templates
    def template_args(self, tag: bool) -> list[Node]:
        self.need("I")
        args = []
        while not self.eat("E"):
            args.append(self.template_arg())
        if tag:
            self.tparams = list(args)
        return args

    def template_arg(self) -> Node:
        c = self.peek()
        if c == "L":
            return self.expr_primary()
        if c == "X":
            self.i += 1
            node = self.expression()
            self.need("E")
            return node
        if c == "J":
            self.i += 1
            items = []
            while not self.eat("E"):
                items.append(self.template_arg())
            return Pack(items)
        return self.type()

    def template_param(self) -> Node:
        self.need("T")
        k = 0 if self.eat("_") else self.number() + 1
        if k and not self.eat("_"):
            raise _Fail("bad template parameter")
        if k >= len(self.tparams):
            raise _Fail(f"template parameter T{k} out of range")
        return self.tparams[k]

    def expr_primary(self) -> Node:
        self.need("L")
        if self.eat("_Z"):
            node = Name(self._full(self.encoding()))
            self.need("E")
            return node
        t = self.type()
        neg = self.eat("n")
        j = self.i
        while self.peek() and self.peek() != "E":
            self.i += 1
        value = ("-" if neg else "") + self.s[j:self.i]
        self.need("E")
        if isinstance(t, Name):
            if t.text == "bool" and value in ("0", "1"):
                return Name("true" if value == "1" else "false")
            code = next((k for k, v in BUILTIN.items() if v == t.text), None)
            if code in LITERAL_SUFFIX:
                return Name(value + LITERAL_SUFFIX[code])
        return Name(f"({t}){value}")

    def expression(self) -> Node:
        c = self.peek()
        if c == "L":
            return self.expr_primary()
        if c == "T":
            return self.template_param()
        if self.startswith("fp"):
            self.i += 2
            self.cv_qualifiers()
            n = 1 if self.eat("_") else self.number() + 2
            if n != 1:
                self.need("_")
            return Name(f"{{parm#{n}}}")
        two = self.s[self.i:self.i + 2]
        if two in OPERATORS and OPERATORS[two][1] in (1, 2) and two not in ("cl", "st", "at"):
            self.i += 2
            text, arity = OPERATORS[two]
            if arity == 1:
                return Name(f"{text}({self.expression()})")
            a, b = self.expression(), self.expression()
            return Name(f"({a}){text}({b})")
        raise _Fail(f"unsupported expression at {self.i}")

    # ------------------------------------------------------------ types
    def cv_qualifiers(self) -> str:
        out = ""
        if self.eat("r"):
            out += " restrict"
        if self.eat("V"):
            out += " volatile"
        if self.eat("K"):
            out += " const"
        return out

    def type(self) -> Node:
        c = self.peek()
        if c in BUILTIN and c != "":
            self.i += 1
            return Name(BUILTIN[c])
        if c == "u":
            self.i += 1
            return Name(str(self.source_name()))
        two = self.s[self.i:self.i + 2]
        if two in BUILTIN_D:
            self.i += 2
            return Name(BUILTIN_D[two])
        if two == "DF":  # _FloatN
            self.i += 2
            n = self.number()
            self.need("_")
            return Name(f"_Float{n}")
        if c in "rVK":
            quals = self.cv_qualifiers()
            if self.peek() == "F":
                node: Node = CV(self.function_type(), quals)
            else:
                node = CV(self.type(), quals)
        elif c == "P":
            self.i += 1
            node = Pointer(self.type(), "*")
        elif c == "R":
            self.i += 1
            node = Pointer(self.type(), "&")
        elif c == "O":
            self.i += 1
            node = Pointer(self.type(), "&&")
        elif c == "F":
            node = self.function_type()
        elif c == "A":
            self.i += 1
            dim = str(self.number()) if self.peek().isdigit() else ""
            self.need("_")
            node = Array(self.type(), dim)
        elif c == "M":
            self.i += 1
            cls = self.type()
            node = MemberPointer(cls, self.type())
        elif c == "T":
            node = self.template_param()
            if self.peek() == "I":
                self.subs.append(node)
                node = Templated(node, self.template_args(tag=False))
        elif two == "Dp":
            self.i += 2
            node = Expansion(self.type())
        elif c == "S" and self.peek(1) != "t":
            node = self.substitution()
            if self.peek() != "I":
                return node  # a substitution is not a new candidate
            node = Templated(node, self.template_args(tag=False))
        elif c == "S":
            self.i += 2
            node = Qualified(Name("std"), self.unqualified_name({}))
            if self.peek() == "I":
                self.subs.append(node)
                node = Templated(node, self.template_args(tag=False))
        elif c == "N" or c == "Z" or c.isdigit() or c == "L" or c == "U":
            node = self.class_enum_type()
        else:
            raise _Fail(f"unknown type at {self.i}: {self.s[self.i:self.i + 8]!r}")
        self.subs.append(node)
        return node

    def class_enum_type(self) -> Node:
        saved = self.tparams
        node = self.name({})
        self.tparams = saved  # template arguments inside a type do not rebind T_
        return node

    def function_type(self) -> Node:
        self.need("F")
        self.eat("Y")
        ret = self.type()
        params = []
        while not self.eat("E"):
            if self.peek() in ("R", "O") and self.peek(1) == "E":
                self.i += 1  # ref-qualifier of the function type
                continue
            if self.peek() == "":
                raise _Fail("unterminated function type")
            params.append(self.type())
        return Function(ret, params)


# ====================================================================== API
def is_mangled(name: str) -> bool:
    return name.startswith("_Z")


def demangle(mangled: str, params: bool = False) -> str:
    """The C++ name of an Itanium-mangled symbol; the input unchanged when it is not mangled (a C
    name) or not understood. Without `params` this is what `c++filt -p` prints (the qualified name
    with template arguments, e.g. `tflite::MicroInterpreter::Invoke`); with it, what `c++filt`
    prints (`tflite::MicroInterpreter::Invoke()`, return type of templates, clone suffixes)."""
    if not is_mangled(mangled):
        return mangled
    p = _Parser(mangled)
    try:
        name, ret, plist, quals = p.mangled()
        clones = []
        while p.i < len(p.s):
            m = _CLONE.match(p.s, p.i)
            if not m:
                raise _Fail("trailing characters")
            clones.append(m.group(0))
            p.i = m.end()
    except (_Fail, IndexError, ValueError, RecursionError):
        return mangled
    if not params:
        return str(name)
    text = p._full((name, ret, plist, quals))
    return text + "".join(f" [clone {c}]" for c in clones)
