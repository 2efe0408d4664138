"""The pieces of vbench/sim/demangle.py's output: the Itanium C++ ABI's builtin types, operator
names and std:: abbreviations (section 5.1.5 "Type encodings", 5.1.3 "Operator Encodings", 5.1.10
"Compression"), and the syntax-tree nodes that render a demangled name as GNU c++filt prints it."""

from __future__ import annotations

import re

BUILTIN = {
    "v": "void", "w": "wchar_t", "b": "bool", "c": "char", "a": "signed char", "h": "unsigned char",
    "s": "short", "t": "unsigned short", "i": "int", "j": "unsigned int", "l": "long", "m": "unsigned long",
    "x": "long long", "y": "unsigned long long", "n": "__int128", "o": "unsigned __int128", "f": "float",
    "d": "double", "e": "long double", "g": "__float128", "z": "...",
}
BUILTIN_D = {
    "Dd": "decimal64", "De": "decimal128", "Df": "decimal32", "Dh": "half", "Di": "char32_t", "Ds": "char16_t",
    "Du": "char8_t", "Da": "auto", "Dc": "decltype(auto)", "Dn": "decltype(nullptr)",
}
# Literal suffixes c++filt prints for integer template arguments (cp-demangle.c d_print_comp, DEMANGLE_COMPONENT_LITERAL).
LITERAL_SUFFIX = {"i": "", "j": "u", "l": "l", "m": "ul", "x": "ll", "y": "ull"}

# <operator-name>: code -> (spelling, arity)
OPERATORS = {
    "nw": ("new", 3), "na": ("new[]", 3), "dl": ("delete", 1), "da": ("delete[]", 1), "ps": ("+", 1),
    "ng": ("-", 1), "ad": ("&", 1), "de": ("*", 1), "co": ("~", 1), "pl": ("+", 2), "mi": ("-", 2),
    "ml": ("*", 2), "dv": ("/", 2), "rm": ("%", 2), "an": ("&", 2), "or": ("|", 2), "eo": ("^", 2),
    "aS": ("=", 2), "pL": ("+=", 2), "mI": ("-=", 2), "mL": ("*=", 2), "dV": ("/=", 2), "rM": ("%=", 2),
    "aN": ("&=", 2), "oR": ("|=", 2), "eO": ("^=", 2), "ls": ("<<", 2), "rs": (">>", 2), "lS": ("<<=", 2),
    "rS": (">>=", 2), "eq": ("==", 2), "ne": ("!=", 2), "lt": ("<", 2), "gt": (">", 2), "le": ("<=", 2),
    "ge": (">=", 2), "ss": ("<=>", 2), "nt": ("!", 1), "aa": ("&&", 2), "oo": ("||", 2), "pp": ("++", 1),
    "mm": ("--", 1), "cm": (",", 2), "pm": ("->*", 2), "pt": ("->", 2), "cl": ("()", 2), "ix": ("[]", 2),
    "qu": ("?", 3), "st": ("sizeof ", 1), "sz": ("sizeof ", 1), "at": ("alignof ", 1), "az": ("alignof ", 1),
}

# <substitution> abbreviations (5.1.10): (as a name, as the name of a constructor/destructor)
_TRAITS = "std::char_traits<char>"
STD_ABBREV = {
    "a": ("std::allocator", "allocator"),
    "b": ("std::basic_string", "basic_string"),
    "s": (f"std::basic_string<char, {_TRAITS}, std::allocator<char> >", "basic_string"),
    "i": (f"std::basic_istream<char, {_TRAITS} >", "basic_istream"),
    "o": (f"std::basic_ostream<char, {_TRAITS} >", "basic_ostream"),
    "d": (f"std::basic_iostream<char, {_TRAITS} >", "basic_iostream"),
}

_CLONE = re.compile(r"\.[A-Za-z_]+(?:\.[0-9]+)*")


class _Fail(Exception):
    pass


# ====================================================================== the tree
class Node:
    """A demangled entity; render(decl) places a declarator (`*`, `&`, ` const`, a name) in it."""

    def render(self, decl: str = "") -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()


class Name(Node):
    def __init__(self, text: str, base: str | None = None):
        self.text = text
        self.base = base if base is not None else text  # what a constructor of this class is called

    def render(self, decl: str = "") -> str:
        if decl and decl[0] not in "*& ":
            return f"{self.text} {decl}"
        return self.text + decl


class Qualified(Node):  # A::B, with the parts as nodes
    def __init__(self, scope: Node, inner: Node):
        self.scope, self.inner = scope, inner
        self.base = getattr(inner, "base", str(inner))

    def render(self, decl: str = "") -> str:
        return Name(f"{self.scope}::{self.inner}").render(decl)


class Templated(Node):  # name<args>
    def __init__(self, name: Node, args: list[Node]):
        self.name, self.args = name, args
        self.base = getattr(name, "base", str(name))

    def render(self, decl: str = "") -> str:
        inner = ", ".join(str(a) for a in self.args)
        close = " >" if inner.endswith(">") else ">"
        name = str(self.name)
        open_ = " <" if name.endswith("<") else "<"  # operator<< <T>
        return Name(f"{name}{open_}{inner}{close}").render(decl)


class CV(Node):
    def __init__(self, inner: Node, quals: str):
        self.inner, self.quals = inner, quals

    def render(self, decl: str = "") -> str:
        if isinstance(self.inner, Function):
            return self.inner.render(decl, extra=self.quals)
        return self.inner.render(self.quals + decl)


class Pointer(Node):
    def __init__(self, inner: Node, sym: str):
        self.inner, self.sym = inner, sym

    def render(self, decl: str = "") -> str:
        return self.inner.render(self.sym + decl)


class MemberPointer(Node):
    def __init__(self, cls: Node, inner: Node):
        self.cls, self.inner = cls, inner

    def render(self, decl: str = "") -> str:
        if isinstance(self.inner, Function) or (isinstance(self.inner, CV) and isinstance(self.inner.inner, Function)):
            return self.inner.render(f"{self.cls}::*{decl}")
        return self.inner.render(f" {self.cls}::*{decl}")


class Function(Node):
    def __init__(self, ret: Node | None, params: list[Node]):
        self.ret, self.params = ret, params

    def render(self, decl: str = "", extra: str = "") -> str:
        ret = f"{self.ret} " if self.ret is not None else ""
        return f"{ret}({decl.strip()}){_params(self.params)}{extra}"


class Array(Node):
    def __init__(self, inner: Node, dim: str):
        self.inner, self.dim = inner, dim

    def render(self, decl: str = "") -> str:
        if decl:
            return self.inner.render(f" ({decl.strip()}) [{self.dim}]")
        return self.inner.render(f" [{self.dim}]")


class Pack(Node):  # the elements of an argument pack, printed as a list
    def __init__(self, items: list[Node]):
        self.items = items

    def render(self, decl: str = "") -> str:
        return ", ".join(i.render(decl) for i in self.items)


class Expansion(Node):  # Dp <type>: a pack expansion in a parameter list
    def __init__(self, inner: Node):
        self.inner = inner

    def render(self, decl: str = "") -> str:
        return self.inner.render(decl)


def _params(params: list[Node]) -> str:
    if len(params) == 1 and isinstance(params[0], Name) and params[0].text == "void":
        return "()"
    out = [str(p) for p in params]
    return "(" + ", ".join(o for o in out if o) + ")"
