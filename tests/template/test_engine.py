"""Alert templates render as Prometheus renders them with Go's text/template: the same
output for the same text and data, and the same error messages (``template: <name>:...``).

Expected values come from Go's and Prometheus's documented behaviour and Prometheus's own
template tests; where a case pins a Go detail that surprises, a comment says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.template.engine import TemplateData, TemplateError, parse_template

NAME = "__alert_A"
DATA = TemplateData(
    labels={"severity": "page", "instance": "host:9100", "job": "node"},  # not in key order
    value=80.0,
    external_labels={"cluster": "eu1"},
    external_url="http://prom.example:9090/prefix",
)


def fake_query(expr: str) -> list[tuple[Mapping[str, str], float]]:
    """The PromQL engine, as far as these tests need one."""
    if expr == "up":
        return [
            ({"__name__": "up", "instance": "b"}, 1.0),
            ({"__name__": "up", "instance": "a"}, 0.0),
        ]
    if expr == "none":
        return []
    raise ValueError("bad query")


def value(v: float) -> TemplateData:
    return TemplateData(labels=DATA.labels, value=v)


def render(text: str, data: TemplateData = DATA) -> str:
    return parse_template(text, NAME).render(data, query=fake_query)


def render_error(text: str, data: TemplateData = DATA) -> str:
    template = parse_template(text, NAME)
    with pytest.raises(TemplateError) as err:
        template.render(data, query=fake_query)
    return str(err.value)


def case(text: str, expected: str, data: TemplateData = DATA) -> object:
    return pytest.param(text, data, expected, id=text[:60])


def check(text: str, data: TemplateData, expected: str) -> None:
    assert render(text, data) == expected


# --- Variables, fields, literals, printing -------------------------------------------

BASICS = [
    case("plain text, no actions", "plain text, no actions"),
    case("{{ $labels.instance }}", "host:9100"),
    case("{{ .Labels.job }}", "node"),
    case("{{ $.Labels.job }}", "node"),
    case("[{{ $labels.missing }}]", "[]"),  # map[string]string: a missing key is ""
    case("[{{ .Labels.missing }}]", "[]"),
    case("{{ $externalLabels.cluster }} {{ .ExternalLabels.cluster }}", "eu1 eu1"),
    case("{{ $externalURL }}", "http://prom.example:9090/prefix"),
    case("{{ .ExternalURL }} {{ externalURL }}", " ".join(["http://prom.example:9090/prefix"] * 2)),
    case("{{ pathPrefix }}", "/prefix"),
    case("{{ $value }} {{ .Value }}", "80 80"),
    case(
        "{{ . }}",
        "{map[instance:host:9100 job:node severity:page] map[cluster:eu1] "
        "http://prom.example:9090/prefix 80}",
    ),
    case(
        "{{ 1 }} {{ -2 }} {{ 1.0 }} {{ 1e3 }} {{ 0x1F }} {{ 017 }} {{ 0b101 }}",
        "1 -2 1 1000 31 15 5",
    ),
    case("{{ 1_000 }} {{ 'a' }} {{ .5 }}", "1000 97 0.5"),
    case(r'{{ "tab\there" }}|{{ "\u00e9\x41" }}|{{ "q\"q" }}', 'tab\there|éA|q"q'),
    case("{{ `raw \\n stays` }}", "raw \\n stays"),
    case("{{ true }} {{ false }}", "true false"),
    case("x {{-3}}", "x -3"),  # "{{-3" is the number -3, not a trim marker
]


@pytest.mark.parametrize(("text", "data", "expected"), BASICS)
def test_variables_fields_and_literals(text: str, data: TemplateData, expected: str) -> None:
    check(text, data, expected)


VALUE_PRINTING = [
    # Go prints a float64 with %v: the shortest digits, exponent form below 1e-4 and from
    # 1e+06 on, infinities signed.
    (80.0, "80"),
    (0.1, "0.1"),
    (1e21, "1e+21"),
    (1e-07, "1e-07"),
    (math.nan, "NaN"),
    (math.inf, "+Inf"),
    (-math.inf, "-Inf"),
    (1e6, "1e+06"),
    (123456.0, "123456"),
    (1234567.0, "1.234567e+06"),
    (0.0001, "0.0001"),
    (0.00001, "1e-05"),
    (-0.5, "-0.5"),
    (0.0, "0"),
    (1 / 3, "0.3333333333333333"),
]


@pytest.mark.parametrize(("v", "expected"), VALUE_PRINTING)
def test_value_prints_like_go(v: float, expected: str) -> None:
    assert render("{{ $value }}", value(v)) == expected
    assert render('{{ printf "%v" .Value }}', value(v)) == expected


# --- Pipelines and printf ---------------------------------------------------------------

PIPELINES = [
    case('{{ "abc" | toUpper }}', "ABC"),
    case("{{ $labels.instance | stripPort | toUpper }}", "HOST"),
    case('{{ 2 | printf "%d-%d" 1 }}', "1-2"),  # the piped value is the last argument
    case('{{ "x" | printf "%s=%s" "a" }}', "a=x"),
    case('{{ printf "%s/%s" (toUpper "a") ($labels.job | title) }}', "A/Node"),
    case("{{ ($labels).job }}", "node"),
    case('{{ (args "x" 2).arg1 }}', "2"),
    case("{{ (args 1).arg7 }}", "<no value>"),  # map[string]interface{}: missing is nil
    case("{{ 1 | }}", "1"),  # Go accepts a trailing pipe
]


@pytest.mark.parametrize(("text", "data", "expected"), PIPELINES)
def test_pipelines(text: str, data: TemplateData, expected: str) -> None:
    check(text, data, expected)


PRINTF = [
    case('{{ printf "%s" "x" }}', "x"),
    case('{{ printf "%d" 42 }}', "42"),
    case('{{ printf "%5d|%-5d|%05d|%+d" 42 42 42 5 }}', "   42|42   |00042|+5"),
    case('{{ printf "%f" 3.14159 }}', "3.141590"),
    case('{{ printf "%.2f" $value }}', "80.00"),
    case('{{ printf "%8.3f|%-8.1f|%08.2f" 3.14159 2.5 -1.5 }}', "   3.142|2.5     |-0001.50"),
    case('{{ printf "%g %g %.3g" 1e6 100000.0 1234.5 }}', "1e+06 100000 1.23e+03"),
    case('{{ printf "%v %v %v" 1e6 0.5 100.0 }}', "1e+06 0.5 100"),
    case('{{ printf "%v %v %v %v" "s" 5 true nil }}', "s 5 true <nil>"),
    case('{{ printf "%e %E" 1234.5678 0.5 }}', "1.234568e+03 5.000000E-01"),
    case('{{ printf "%q" "a\\"b" }}', '"a\\"b"'),
    case('{{ printf "%x %X %o %b" 255 255 8 5 }}', "ff FF 10 101"),
    case('{{ printf "%#x %x" 255 "hi" }}', "0xff 6869"),
    case('{{ printf "%c%c" 72 105 }}', "Hi"),
    case('{{ printf "%5s|%-5s|%.2s" "ab" "ab" "abcdef" }}', "   ab|ab   |ab"),
    case('{{ printf "%.1f%%" 12.345 }}', "12.3%"),
    case('{{ printf "%T %T %T %T" 1 1.5 "s" $labels }}', "int float64 string map[string]string"),
    case('{{ printf "%s" $labels }}', "map[instance:host:9100 job:node severity:page]"),
    case('{{ printf "%f %v" $value $value }}', "80.000000 80"),
    # Go's fmt reports a verb that does not fit its operand inside the output.
    case('{{ printf "%d" $value }}', "%!d(float64=80)"),
    case('{{ printf "%s" 5 }}', "%!s(int=5)"),
    case('{{ printf "%d" }}', "%!d(MISSING)"),
    case('{{ printf "%d" 1 2 }}', "1%!(EXTRA int=2)"),
    case('{{ printf "100%" }}', "100%!(NOVERB)"),
    case('{{ printf "%f" (humanize 1) }}', "%!f(string=1)"),
]


@pytest.mark.parametrize(("text", "data", "expected"), PRINTF)
def test_printf_verbs(text: str, data: TemplateData, expected: str) -> None:
    check(text, data, expected)


# --- Prometheus's functions -------------------------------------------------------------

HUMANIZE = [
    ("humanize", "0", "0"),
    ("humanize", "1", "1"),
    ("humanize", "999", "999"),
    ("humanize", "1000", "1k"),
    ("humanize", "1234567", "1.235M"),
    ("humanize", "0.001234", "1.234m"),
    ("humanize", "-1234", "-1.234k"),
    ("humanize", "0.5", "500m"),
    ("humanize", "1e-9", "1n"),
    ("humanize", "0.12", "120m"),
    ("humanize", '"1234"', "1.234k"),  # strings go through strconv.ParseFloat
    ("humanize", '"+Inf"', "+Inf"),
    ("humanize", '"NaN"', "NaN"),
    # Prometheus writes the kibi prefix "ki", lower-case, unlike "Mi", "Gi"...
    ("humanize1024", "1024", "1ki"),
    ("humanize1024", "1536", "1.5ki"),
    ("humanize1024", "1048576", "1Mi"),
    ("humanize1024", "1023", "1023"),
    ("humanize1024", "0", "0"),
    ("humanize1024", "0.12", "0.12"),
    ("humanizePercentage", "0.12345", "12.35%"),
    ("humanizePercentage", "0", "0%"),
    ("humanizePercentage", "1.23456", "123.5%"),
    ("humanizePercentage", "-0.22222", "-22.22%"),
    ("humanizeDuration", "0", "0s"),
    ("humanizeDuration", "1", "1s"),
    ("humanizeDuration", "60", "1m 0s"),
    ("humanizeDuration", "3661", "1h 1m 1s"),
    ("humanizeDuration", "90061", "1d 1h 1m 1s"),
    ("humanizeDuration", "0.5", "500ms"),
    ("humanizeDuration", "0.0012", "1.2ms"),
    ("humanizeDuration", "0.0001", "100us"),
    ("humanizeDuration", "1e-9", "1ns"),
    ("humanizeDuration", "899.99", "14m 59s"),
    ("humanizeDuration", "1.2345", "1.234s"),
    ("humanizeDuration", "12.345", "12.35s"),
    ("humanizeDuration", "-183845", "-2d 3h 4m 5s"),
    ("humanizeDuration", '"90061"', "1d 1h 1m 1s"),
    ("humanizeTimestamp", "1435065584.128", "2015-06-23 13:19:44.128 +0000 UTC"),
    ("humanizeTimestamp", "0", "1970-01-01 00:00:00 +0000 UTC"),
    ("toTime", "1435065584", "2015-06-23 13:19:44 +0000 UTC"),
]


@pytest.mark.parametrize(("func", "arg", "expected"), HUMANIZE)
def test_humanize_family(func: str, arg: str, expected: str) -> None:
    assert render(f"{{{{ {func} {arg} }}}}") == expected


@pytest.mark.parametrize(
    ("v", "expected"),
    [(math.nan, "NaN:NaN:NaN:NaN:NaN%"), (math.inf, "+Inf:+Inf:+Inf:+Inf:+Inf%")],
)
def test_humanize_family_on_nan_and_inf(v: float, expected: str) -> None:
    text = (
        "{{ humanize $value }}:{{ humanize1024 $value }}:{{ humanizeDuration $value }}:"
        "{{ humanizeTimestamp $value }}:{{ humanizePercentage $value }}"
    )
    assert render(text, value(v)) == expected


STRINGS = [
    case('{{ title "aa bb CC" }}', "Aa Bb CC"),
    case('{{ title "hello-world foo_bar" }}', "Hello-World Foo_bar"),
    case('{{ toUpper "aa bb CC" }}', "AA BB CC"),
    case('{{ toLower "aA bB CC" }}', "aa bb cc"),
    case('{{ match "a+" "baab" }} {{ match "^a" "ba" }}', "true false"),
    case(r'{{ match "a.c" "a\nc" }}', "false"),  # Go's "." does not match a newline
    case('{{ if match "^node" $labels.job }}yes{{ end }}', "yes"),
    case('{{ reReplaceAll "(a)b" "x$1" "ab" }}', "xa"),
    # The examples of Go's Regexp.ReplaceAllString: "$1W" names a group "1W", which is empty.
    case('{{ reReplaceAll "a(x*)b" "T" "-ab-axxb-" }}', "-T-T-"),
    case('{{ reReplaceAll "a(x*)b" "$1" "-ab-axxb-" }}', "--xx-"),
    case('{{ reReplaceAll "a(x*)b" "$1W" "-ab-axxb-" }}', "---"),
    case('{{ reReplaceAll "a(x*)b" "${1}W" "-ab-axxb-" }}', "-W-xxW-"),
    case('{{ reReplaceAll "a*" "-" "baaac" }}', "-b-c-"),  # no empty match right after one
    case('{{ reReplaceAll "(?P<host>[^:]+):.*" "${host} $$" $labels.instance }}', "host $"),
    case('{{ stripPort "host:9100" }}|{{ stripPort "[::1]:80" }}', "host|::1"),
    case('{{ stripPort "host" }}|{{ stripPort "::1" }}', "host|::1"),
    case('{{ stripDomain "foo.example.com:9100" }}|{{ stripDomain "foo.bar" }}', "foo:9100|foo"),
    case(
        '{{ stripDomain "10.0.0.1:9100" }}|{{ stripDomain "[::1]:80" }}', "10.0.0.1:9100|[::1]:80"
    ),
    case('{{ safeHtml "<b>" }}', "<b>"),
    case('{{ "<b>" }}', "<b>"),  # text/template: no escaping
    case('{{ html "<b>&\'\\"" }}', "&lt;b&gt;&amp;&#39;&#34;"),
    case('{{ js "a\'b<" }}', "a\\'b\\u003C"),
    case('{{ urlquery "a b&c" }}', "a+b%26c"),
    case(
        '{{ graphLink "up" }}|{{ tableLink "up" }}',
        "/graph?g0.expr=up&g0.tab=0|/graph?g0.expr=up&g0.tab=1",
    ),
    case(
        '{{ parseDuration "1h30m" }} {{ parseDuration "500ms" }} {{ parseDuration "0" }}',
        "5400 0.5 0",
    ),
]


@pytest.mark.parametrize(("text", "data", "expected"), STRINGS)
def test_string_functions(text: str, data: TemplateData, expected: str) -> None:
    check(text, data, expected)


QUERIES = [
    case('{{ query "up" | first | value }}', "1"),
    case('{{ query "up" | first | label "instance" }}', "b"),
    case('[{{ query "up" | first | label "nope" }}]', "[]"),
    case('{{ with query "up" }}{{ . | first | label "instance" }}{{ end }}', "b"),
    case('{{ range query "up" }}{{ .Labels.instance }}={{ .Value }} {{ end }}', "b=1 a=0 "),
    case('{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}{{ end }}', "ab"),
    case('{{ (query "up" | first).Value }}', "1"),
    case('{{ $x := query "up" | first }}[{{ $x.Labels.foo }}]', "[]"),
    case('{{ query "up" | len }} {{ query "none" | len }}', "2 0"),
    case('{{ range query "none" }}x{{ else }}empty{{ end }}', "empty"),
    case('{{ with query "none" }}x{{ else }}no data{{ end }}', "no data"),
    case('{{ query "up" | first }}', "{map[__name__:up instance:b] 1}"),
]


@pytest.mark.parametrize(("text", "data", "expected"), QUERIES)
def test_query_functions(text: str, data: TemplateData, expected: str) -> None:
    check(text, data, expected)


BUILTINS = [
    case('{{ len "héllo" }} {{ len $labels }}', "6 3"),  # len counts a string's bytes
    case('{{ index $labels "job" }}|{{ index $labels "nope" }}|', "node||"),
    case('{{ index "abc" 1 }}', "98"),  # a byte
    case('{{ slice "abcdef" 1 3 }}|{{ slice "abc" 1 }}', "bc|bc"),
    case('{{ print 1 2 "a" "b" 3 }}', "1 2ab3"),  # spaces only between non-strings
    case('{{ println "a" 1 }}', "a 1\n"),
    case('{{ not 0 }} {{ not "x" }} {{ not $labels.nope }}', "true false true"),
    case('{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 "" "x" }}|{{ or 0 "" }}|', "0|2|x||"),
    case(
        '{{ and $labels.job $labels.instance }}|{{ or $labels.nope "default" }}',
        "host:9100|default",
    ),
    case('{{ or 1 (index (query "none") 5) }}', "1"),  # or stops at its first true operand
    case(
        '{{ eq $labels.job "node" }} {{ eq "a" "b" "a" }} {{ eq 1 2 }} {{ ne 1 2 }}',
        "true true false true",
    ),
    case(
        '{{ lt 1 2 }} {{ lt "a" "b" }} {{ gt "b" "a" }} {{ le 2 2 }} {{ ge 1 2 }}',
        "true true true true false",
    ),
    case("{{ eq $value 80.0 }} {{ gt $value 79.5 }} {{ lt 1.5 2.5 }}", "true true true"),
]


@pytest.mark.parametrize(("text", "data", "expected"), BUILTINS)
def test_go_builtins(text: str, data: TemplateData, expected: str) -> None:
    check(text, data, expected)


# --- Control structures, trimming, comments, scoping -----------------------------------

SEVERITY = "{{ if gt $value 90.0 }}crit{{ else if gt $value 50.0 }}warn{{ else }}ok{{ end }}"

CONTROL = [
    case(SEVERITY, "warn"),
    case(SEVERITY, "crit", value(95)),
    case(SEVERITY, "ok", value(10)),
    case("{{ if $labels.nope }}y{{ else }}n{{ end }}", "n"),
    case("{{ if $value }}nonzero{{ end }}{{ if .Value }}!{{ end }}", "nonzero!"),
    case("{{ if $value }}nonzero{{ else }}zero{{ end }}", "zero", value(0)),
    case('{{ if and $labels.job (eq $labels.severity "page") }}page{{ end }}', "page"),
    case("{{ with $labels.job }}job={{ . }}{{ else }}none{{ end }}", "job=node"),
    case("{{ with $labels.nope }}job={{ . }}{{ else }}none{{ end }}", "none"),
    case("{{ with $labels.nope }}x{{ else with $labels.job }}{{ . }}{{ end }}", "node"),
    case(
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
        "instance=host:9100;job=node;severity=page;",
    ),
    case("{{ range $labels }}{{ . }},{{ end }}", "host:9100,node,page,"),
    case('{{ range $i, $s := query "up" }}{{ $i }}:{{ $s.Labels.instance }} {{ end }}', "0:b 1:a "),
    case('{{ range $s := query "up" }}{{ $s.Value }}{{ end }}', "10"),
    case(
        '{{ range $i, $s := query "up" }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $i }}{{ end }}', "0"
    ),
    case(
        '{{ range $i, $s := query "up" }}{{ if eq $i 0 }}{{ continue }}{{ end }}{{ $i }}{{ end }}',
        "1",
    ),
    case("{{ range (args).nope }}x{{ else }}nothing{{ end }}", "nothing"),  # nil: no error
    # Trim markers eat the spaces and newlines next to them.
    case("a  {{- 1 -}}  b", "a1b"),
    case("a\n  {{- $labels.job }}\n", "anode\n"),
    case("{{ $labels.job -}}\n\n  x", "nodex"),
    case("{{ if true -}}\n  yes\n{{- end }}", "yes"),
    # Comments
    case("a{{/* a comment */}}b", "ab"),
    case("a {{- /* trimmed */ -}} b", "ab"),
    case("{{/* several\nlines */}}x", "x"),
    # Variables: declared in a block, they live until its end.
    case('{{ $x := "a" }}{{ $x }}', "a"),
    case("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"),
    case(
        '{{ $x := "outer" }}{{ if true }}{{ $x := "inner" }}{{ $x }} {{ end }}{{ $x }}',
        "inner outer",
    ),
    case('{{ $x := "outer" }}{{ if true }}{{ $x = "set" }}{{ end }}{{ $x }}', "set"),
    case("{{ with $y := $labels.job }}{{ $y }}{{ end }}", "node"),
    case('{{ $labels := "shadow" }}{{ $labels }}', "shadow"),
    case('{{ $n := 0 }}{{ range query "up" }}{{ $n = .Value }}{{ end }}{{ $n }}', "0"),
]


@pytest.mark.parametrize(("text", "data", "expected"), CONTROL)
def test_control_structures(text: str, data: TemplateData, expected: str) -> None:
    check(text, data, expected)


# --- Errors -----------------------------------------------------------------------------

PARSE_ERRORS = [
    # What promtool 2.42 prints for these annotations of a rule named A.
    ("{{ $labels.x ", "template: __alert_A:1: unclosed action"),
    ("{{ if $value }}x", "template: __alert_A:1: unexpected EOF"),
    ("{{ nosuchfunc 1 }}", 'template: __alert_A:1: function "nosuchfunc" not defined'),
    ("{{ $nope }}", 'template: __alert_A:1: undefined variable "$nope"'),
    ("{{ end }}", "template: __alert_A:1: unexpected {{end}}"),
    # More of Go's messages.
    ("{{ else }}", "template: __alert_A:1: unexpected {{else}}"),
    ("line 1\nline 2 {{ nosuchfunc }}", 'template: __alert_A:2: function "nosuchfunc" not defined'),
    ("{{ $labels.x\n\n", "template: __alert_A:3: unclosed action started at __alert_A:1"),
    ("{{ }}", "template: __alert_A:1: missing value for command"),
    ("{{ if }}x{{ end }}", "template: __alert_A:1: missing value for if"),
    ('{{ "a" | "b" }}', "template: __alert_A:1: non executable command in pipeline stage 2"),
    ('{{ "open }}', "template: __alert_A:1: unterminated quoted string"),
    ("{{/* x }}", "template: __alert_A:1: unclosed comment"),
    ("{{ (1 }}", "template: __alert_A:1: unclosed left paren"),
    ("{{ 1) }}", "template: __alert_A:1: unexpected right paren"),
    (
        "{{ if true }}{{ else }}{{ else }}{{ end }}",
        "template: __alert_A:1: expected end; found {{else}}",
    ),
    ("{{ break }}", "template: __alert_A:1: {{break}} outside {{range}}"),
    (
        '{{ range $i, $e := query "up" }}{{ end }}{{ $i }}',
        'template: __alert_A:1: undefined variable "$i"',
    ),
    (
        "{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}",
        'template: __alert_A:1: undefined variable "$y"',
    ),
    ("{{ $x, $y := 1 }}", "template: __alert_A:1: too many declarations in command"),
    ("{{ $x := 1, 2 }}", 'template: __alert_A:1: unexpected "," in operand'),
    ("{{ 3.x }}", 'template: __alert_A:1: bad number syntax: "3.x"'),
    ('{{ "\\q" }}', "template: __alert_A:1: invalid syntax"),
    ("{{ .Labels.x.y }}{{ 1.foo }}", 'template: __alert_A:1: bad number syntax: "1.f"'),
    ('{{ define "x" }}{{ end }}', "template: __alert_A:1: {{define}} is not supported"),
]


@pytest.mark.parametrize(("text", "message"), PARSE_ERRORS)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        parse_template(text, NAME)
    assert str(err.value) == message


def test_humanize_error_matches_prometheus_exactly() -> None:
    """The column counts the prelude Prometheus puts before the text (112 bytes)."""
    assert render_error('{{ humanize "abc" }}') == (
        'template: __alert_A:1:115: executing "__alert_A" at <humanize "abc">: '
        'error calling humanize: strconv.ParseFloat: parsing "abc": invalid syntax'
    )


RENDER_ERRORS = [
    ('{{ humanizeDuration "1m" }}', "error calling humanizeDuration: strconv.ParseFloat"),
    ('{{ index (query "up") 5 }}', "error calling index: index out of range: 5"),
    ("{{ humanize }}", "wrong number of args for humanize: want 1 got 0"),
    ("{{ humanize 1 2 }}", "wrong number of args for humanize: want 1 got 2"),
    (
        '{{ query "none" | first }}',
        "error calling first: first() called on vector with no elements",
    ),
    ('{{ query "broken" }}', "error calling query: bad query"),
    ('{{ reReplaceAll "(" "x" "y" }}', "error calling reReplaceAll: error parsing regexp"),
    ('{{ match "(" "y" }}', "error calling match: error parsing regexp"),
    ('{{ parseDuration "1x" }}', 'error calling parseDuration: not a valid duration string: "1x"'),
    ("{{ humanize true }}", "error calling humanize: can't convert bool to float"),
    ("{{ eq 1 }}", "error calling eq: missing argument for comparison"),
    # Go compares only values of one kind: $value is a float64 and 80 an int.
    ("{{ gt $value 80 }}", "error calling gt: incompatible types for comparison"),
    ("{{ lt true false }}", "error calling lt: invalid type for comparison"),
    ("{{ len 3 }}", "error calling len: len of type int"),
    ("{{ title 5 }}", "at <5>: expected string; found 5"),
    ("{{ $value | title }}", "at <title>: wrong type for value; expected string; got float64"),
    ("{{ .Nope }}", "can't evaluate field Nope in type struct {"),
    ("{{ $value.x }}", "can't evaluate field x in type float64"),
    ("{{ 1 2 }}", "can't give argument to non-function 1"),
    ("{{ $x = 1 }}", "undefined variable: $x"),
    ("{{ nil }}", "nil is not a command"),
    ("{{ range $value }}{{ end }}", "range can't iterate over 80"),
    ("{{ range $labels.job }}{{ end }}", "range can't iterate over node"),  # nor strings
]


@pytest.mark.parametrize(("text", "message"), RENDER_ERRORS)
def test_render_errors(text: str, message: str) -> None:
    error = render_error(text)
    assert error.startswith("template: __alert_A:1:"), error
    assert f'executing "{NAME}" at <' in error
    assert message in error


def test_render_error_reports_line_and_column() -> None:
    error = render_error('line 1\n  {{ humanize "x" }}')
    assert error.startswith('template: __alert_A:2:5: executing "__alert_A" at <humanize "x">:')


def test_query_without_an_engine_fails_at_render_only() -> None:
    template = parse_template('{{ query "up" | first | value }}', NAME)
    with pytest.raises(TemplateError) as err:
        template.render(DATA)
    message = str(err.value)
    assert message.startswith("template: __alert_A:1:")
    assert "error calling query: queries are not available in this template" in message


def test_a_template_renders_again_with_other_data() -> None:
    template = parse_template("{{ $labels.job }}={{ $value }}", NAME)
    assert template.render(DATA) == "node=80"
    assert template.render(TemplateData({"job": "api"}, 0.25)) == "api=0.25"


# --- Properties -------------------------------------------------------------------------

_WORDS = (
    "{{ }} $ $x $labels $value . .Labels .job | := = ( ) \"a\" `b` 'c' 1 -2 1.5e3 nil true if else"
    ' end range with break humanize printf "%d" index eq and query first /* */ , \\ x é len'
    " title reReplaceAll"
)
FRAGMENTS = st.sampled_from((*_WORDS.split(), "{{- ", " -}}", " ", "\n"))


def outcome(text: str) -> str:
    """Returns "ok" when the text parses and renders, else the error's message."""
    try:
        parse_template(text, NAME).render(DATA, query=fake_query)
    except TemplateError as err:
        return str(err)
    return "ok"


@given(st.text().filter(lambda text: "{{" not in text))
def test_text_without_actions_renders_to_itself(text: str) -> None:
    assert render(text) == text


@given(st.text())
def test_parse_raises_only_template_error(text: str) -> None:
    result = outcome(text)  # any other exception fails the test
    assert result == "ok" or result.startswith(f"template: {NAME}:")


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=16).map("".join))
def test_template_like_text_parses_and_renders_or_raises_template_error(text: str) -> None:
    result = outcome(text)
    assert result == "ok" or result.startswith(f"template: {NAME}:")
