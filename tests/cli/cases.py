"""Command lines run through both virsh and pyvirsh; each must give identical results."""
from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "cli"
DEF = "test:///default"
NODE = f"test://{DATA / 'testnode.xml'}"

# (id, argv after the program name)
CASES: list[tuple[str, list[str]]] = []


def add(name: str, *argv: str) -> None:
    CASES.append((name, list(argv)))


def t(name: str, line: str, uri: str = DEF) -> None:
    """One batch string against URI."""
    add(name, "-c", uri, line)


# --- global options and parsing ---------------------------------------------------------
add("version-v", "-v")
add("version-V", "-V")
add("version-long", "--version=long")
add("version-short", "--version")
add("version-prefix", "--vers")
add("help-h", "-h")
add("help-long", "--help")
add("bad-short", "-x")
add("bad-long", "--foo")
add("missing-c", "-c")
add("missing-connect", "--connect")
add("debug-bad", "-d", "x", "-c", DEF, "uri")
add("debug-range", "-d", "9", "-c", DEF, "uri")
add("keepalive-neg", "-k", "-1", "uri")
add("keepalive-bad", "-K", "abc", "uri")
add("escape-bad", "-e", "ab", "uri")
add("escape-ok", "-e", "^a", "-c", DEF, "uri")
add("quiet-combo", "-qc", DEF, "uri")
add("connect-eq", f"--connect={DEF}", "uri")
add("connect-prefix", "--conn", DEF, "uri")
add("readonly", "-r", "-c", DEF, "uri")
add("readonly-define", "-r", "-c", DEF, "destroy test")
add("unknown-cmd", "-c", DEF, "foo")
add("unknown-cmd-argv", "-c", DEF, "foo", "bar")
add("argv-cmd", "-c", DEF, "dominfo", "test")
add("argv-cmd-opt", "-c", DEF, "domstate", "--reason", "test")
add("argv-cmd-eq", "-c", DEF, "domstate", "--domain=test")
add("argv-semicolon-literal", "-c", DEF, "echo", "a;b")
add("quiet-batch", "-q", "-c", DEF, "list; suspend test; list")
t("batch-basic", "list; dominfo test; uri")
t("batch-comment", "list # comment; uri")
t("batch-comment-line", "# just a comment")
t("batch-newline", "uri\nhostname")
t("batch-empty-cmds", ";;uri;;")
t("batch-fail-middle", "dominfo nosuch; list")
t("batch-fail-last", "list; dominfo nosuch")
t("quote-single", "echo 'a b'  c")
t("quote-double", 'echo "a b" "c\\"d"')
t("quote-missing", 'echo "abc')
t("dangling-backslash", "echo abc\\")
t("escape-backslash", "echo a\\ b")
t("echo-shell", "echo --shell a 'b c' \"it's\"")
t("echo-xml", "echo --xml '<a>&\"'")
t("echo-split", "echo --split a,b,,c d")
t("echo-err", "echo --err oops")
t("echo-excl", "echo --shell --xml a")
t("echo-alias-str", "echo --str hello")
t("echo-alias-hi", "echo --hi")
t("echo-alias-hi-eq", "echo --hi=x")
t("echo-dashdash", "echo -- --shell")
t("echo-empty", "echo")
t("opt-unknown", "dominfo --foo test")
t("opt-twice", "dominfo --domain test --domain test")
t("opt-missing-value", "dominfo --domain")
t("opt-bool-eq", "list --all=yes")
t("opt-unexpected-data", "uri extra")
t("opt-required", "dominfo")
t("opt-required-argv", "domstate")
t("opt-empty", "dominfo ''")
t("opt-help", "dominfo --help")
t("opt-help-any", "list --all --help")
t("help-all", "help")
t("help-group", "help domain")
t("help-group-name", "help 'Domain Monitoring'")
t("help-cmd-alias", "help nodedev-dettach")
t("help-unknown", "help nosuch")
t("help-opt", "help --command list")
t("help-extra", "help list --foo")
t("pwd", "pwd")
t("cd-noninteractive", "cd /")
t("quit-stops", "uri; quit; hostname")
t("exit-stops", "exit; uri")
for cmdname in ["list", "dominfo", "domstate", "dumpxml", "define", "undefine", "start",
                "destroy", "setmem", "setvcpus", "vcpucount", "snapshot-list", "net-list",
                "pool-list", "vol-list", "iface-list", "nodedev-list", "nodeinfo", "domstats",
                "event", "echo", "connect", "schedinfo", "desc", "metadata",
                "snapshot-create-as", "pool-define-as", "vol-create-as", "freecell",
                "save", "restore", "domblklist", "domiflist", "help", "cpu-baseline"]:
    t(f"helptext-{cmdname}", f"help {cmdname}")

# --- domains ------------------------------------------------------------------------------
for opts in ["", "--all", "--inactive", "--transient", "--persistent", "--autostart",
             "--no-autostart", "--with-snapshot", "--without-snapshot", "--managed-save",
             "--state-running", "--state-paused", "--state-shutoff", "--state-other",
             "--uuid", "--name", "--id", "--table", "--title", "--all --name",
             "--all --uuid --name", "--id --name", "--table --name", "--table --uuid",
             "--all --title", "--with-checkpoint", "--without-checkpoint",
             "--with-managed-save", "--without-managed-save", "--all --id"]:
    t(f"list{opts.replace(' ', '_') or '-plain'}", f"list {opts}")
    t(f"node-list{opts.replace(' ', '_') or '-plain'}", f"list {opts}", NODE)
t("dominfo", "dominfo test")
t("dominfo-id", "dominfo 1")
t("dominfo-uuid", "dominfo 6695eb01-f6a4-8304-79aa-97f2502e193f")
t("dominfo-missing", "dominfo nosuch")
t("node-dominfo", "dominfo fv0", NODE)
t("node-dominfo-fc4", "dominfo fc4", NODE)
t("domstate", "domstate test")
t("domstate-reason", "domstate --reason test")
t("domstate-missing", "domstate nosuch")
t("domid", "domid test")
t("domid-uuid", "domid 6695eb01-f6a4-8304-79aa-97f2502e193f")
t("domname", "domname 1")
t("domname-byname", "domname test")
t("domuuid", "domuuid test")
t("domuuid-id", "domuuid 1")
t("dumpxml", "dumpxml test")
t("dumpxml-inactive", "dumpxml --inactive test")
t("dumpxml-secure", "dumpxml --security-info test")
t("dumpxml-migratable", "dumpxml --migratable test")
t("dumpxml-xpath", "dumpxml test --xpath //name")
t("dumpxml-xpath-wrap", "dumpxml test --xpath //name --wrap")
t("dumpxml-xpath-attr", "dumpxml test --xpath string(//memory/@unit)")
t("node-dumpxml", "dumpxml fv0", NODE)
t("lifecycle-suspend", "suspend test; domstate --reason test; resume test; domstate --reason test")
t("suspend-twice", "suspend test; suspend test")
t("resume-running", "resume test")
t("destroy-start", "destroy test; domstate --reason test; start test; domstate --reason test; "
  "list --all")
t("start-active", "start test")
t("start-paused", "destroy test; start --paused test; domstate --reason test")
t("start-force-boot", "destroy test; start --force-boot test")
t("start-by-id", "start 1")
t("destroy-graceful", "destroy --graceful test; list --all")
t("shutdown", "shutdown test; domstate --reason test")
t("shutdown-mode", "shutdown --mode acpi test")
t("shutdown-badmode", "shutdown --mode foo test")
t("reboot", "reboot test; domstate --reason test")
t("reset", "reset test")
t("shutoff-ops", "destroy test; suspend test; reboot test; reset test; shutdown test")
t("define-file", "define testdomfc4.xml; list --all; dominfo fc4")
t("define-missing", "define /nonexistent.xml")
t("define-validate", "define --validate testdomfc5.xml")
t("create-file", "create testdomfc4.xml; list --all")
t("create-paused", "create --paused testdomfc5.xml; domstate --reason fc5")
t("undefine-running", "undefine test; list --all")
t("undefine-stopped", "destroy test; undefine test; list --all")
t("undefine-missing", "undefine nosuch")
t("autostart", "autostart test; dominfo test; list --autostart; autostart --disable test; "
  "list --no-autostart")
t("domrename", "destroy test; domrename test newname; list --all")
t("domrename-running", "domrename test newname")
t("managedsave", "managedsave test; list --all --managed-save; dominfo test; "
  "managedsave-remove test; list --all --managed-save")
t("managedsave-remove-none", "managedsave-remove test")
t("setmem", "setmem test 1G; dominfo test")
t("setmem-config", "setmem test 1048576 --config; dumpxml --inactive test")
t("setmem-bad", "setmem test abc")
t("setmem-excl", "setmem test 1024 --current --live")
t("setmaxmem", "setmaxmem test 4G; dominfo test")
t("setmaxmem-offline", "destroy test; setmaxmem test 4G; dominfo test")
t("setmem-kilobytes-alias", "setmem test --kilobytes 1048576; dominfo test")
t("save-restore", "save test /tmp/pyvirsh-test-save.img; list --all; "
  "restore /tmp/pyvirsh-test-save.img; list --all")
t("restore-missing", "restore /nonexistent.img")
t("node-lifecycle", "destroy fv0; start fv0; suspend fc4; list --all", NODE)
