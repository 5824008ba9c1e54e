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

# --- host -----------------------------------------------------------------------------------
for line in ["nodeinfo", "hostname", "uri", "version", "version --daemon", "sysinfo",
             "capabilities", "freecell", "freecell --all", "freecell --cellno 0",
             "freecell --cellno 1", "freecell --cellno x", "freecell --all --cellno 0",
             "nodememstats", "nodecpustats", "nodecpustats --cpu 0", "nodecpumap",
             "nodecpumap --pretty", "freepages", "freepages --all", "freepages --cellno 0",
             "freepages --cellno -2 --pagesize 4", "cpu-models x86_64", "cpu-models",
             "maxvcpus", "maxvcpus --type test", "connect test:///default; uri",
             "connect; uri", "connect --readonly test:///default; destroy test",
             "connect nosuch:///x"]:
    t(f"host-{line.replace(' ', '_')}", line)
    t(f"node-host-{line.replace(' ', '_')}", line, NODE)

# --- networks -------------------------------------------------------------------------------
for line in ["net-list", "net-list --all", "net-list --inactive", "net-list --name",
             "net-list --uuid", "net-list --table --name", "net-list --persistent",
             "net-list --transient", "net-list --autostart", "net-list --no-autostart",
             "net-info default", "net-info nosuch", "net-uuid default",
             "net-name dd8fe884-6c02-601e-7551-cca97df1c5df", "net-name default",
             "net-dumpxml default", "net-dumpxml --inactive default",
             "net-dumpxml default --xpath //ip", "net-start default",
             "net-destroy default; net-list --all; net-info default; net-start default; "
             "net-list",
             "net-autostart default; net-list --autostart; net-autostart --disable default; "
             "net-info default",
             "net-destroy default; net-undefine default; net-list --all",
             "net-undefine default; net-list --all",
             "net-define testnetpriv.xml; net-list --all; net-start private; net-list",
             "net-create testnetdef.xml",
             "net-create testnetpriv.xml; net-list --all; net-info private",
             "net-define /nonexistent",
             "net-update default add ip-dhcp-host \"<host mac='00:11:22:33:44:55' "
             "ip='192.168.122.5'/>\" --live; net-dumpxml default",
             "net-update default add ip-dhcp-host \"<host mac='00:11:22:33:44:55' "
             "ip='192.168.122.5'/>\" --config; net-dumpxml --inactive default",
             "net-update default frob ip-dhcp-host '<host/>'",
             "net-update default add frob '<host/>'",
             "net-update default add ip-dhcp-host '<host/>' --current --live"]:
    t(f"net-{line[:60].replace(' ', '_')}", line)
t("node-net-list", "net-list --all", NODE)
t("node-net-info", "net-info default", NODE)

# --- storage ----------------------------------------------------------------------------------
for line in ["pool-list", "pool-list --all", "pool-list --details", "pool-list --all --details",
             "pool-list --name", "pool-list --uuid", "pool-list --uuid --name",
             "pool-list --details --name", "pool-list --type dir", "pool-list --type frob",
             "pool-list --type dir,fs", "pool-list --all --inactive", "pool-list --persistent",
             "pool-list --transient", "pool-list --autostart", "pool-list --no-autostart",
             "pool-info default-pool", "pool-info --bytes default-pool", "pool-info nosuch",
             "pool-uuid default-pool", "pool-name dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566",
             "pool-dumpxml default-pool", "pool-dumpxml --inactive default-pool",
             "pool-autostart default-pool; pool-list --autostart; pool-info default-pool",
             "pool-destroy default-pool; pool-list --all --details; pool-info default-pool; "
             "pool-start default-pool; pool-list",
             "pool-refresh default-pool", "pool-build default-pool",
             "pool-destroy default-pool; pool-delete default-pool",
             "pool-destroy default-pool; pool-undefine default-pool; pool-list --all",
             "pool-define testpool.xml; pool-list --all --details",
             "pool-create testpool.xml; pool-list --details; vol-list --details default-pool",
             "pool-define-as p1 dir --target /var/lib/p1 --print-xml",
             "pool-define-as p1 netfs --source-host h --source-path /x --target /mnt "
             "--print-xml",
             "pool-define-as p1 dir --target /tmp/p1; pool-list --all --details; "
             "pool-dumpxml p1 --xpath //target",
             "pool-create-as p2 dir --target /tmp/p2; pool-list --details",
             "pool-create-as p2 dir --overwrite --no-overwrite",
             "vol-list default-pool", "vol-list --details default-pool",
             "vol-list nosuch",
             "vol-create-as default-pool v1 10M; vol-list --details default-pool; "
             "vol-info v1 --pool default-pool; vol-info --bytes v1 --pool default-pool; "
             "vol-path --pool default-pool v1; vol-key --pool default-pool v1; "
             "vol-name /default-pool/v1; vol-pool /default-pool/v1; "
             "vol-pool --uuid /default-pool/v1; vol-dumpxml --pool default-pool v1",
             "vol-create-as default-pool v1 10M --allocation 1M --format raw --print-xml",
             "vol-create-as default-pool v1 1x",
             "vol-create-as default-pool v1 10M; vol-clone --pool default-pool v1 v2; "
             "vol-list default-pool",
             "vol-create-as default-pool v1 10M; vol-delete --pool default-pool v1; "
             "vol-list default-pool",
             "vol-create default-pool testvol.xml; vol-list --details default-pool",
             "vol-info --pool default-pool nosuch", "vol-info nosuch",
             "vol-path nosuch", "vol-name nosuch",
             "vol-create-as default-pool v1 10M; vol-create-from default-pool testvol.xml "
             "--inputpool default-pool v1; vol-list default-pool"]:
    t(f"pool-{line[:70].replace(' ', '_')}", line)
t("node-pool-list", "pool-list --all --details", NODE)
t("node-vol-list", "vol-list --details default-pool", NODE)
t("node-pool-info", "pool-info default-pool", NODE)

# --- interfaces, node devices ---------------------------------------------------------------
for line in ["iface-list", "iface-list --all", "iface-list --inactive", "iface-mac eth1",
             "iface-name aa:bb:cc:dd:ee:ff", "iface-name eth1", "iface-mac nosuch",
             "iface-dumpxml eth1", "iface-dumpxml --inactive eth1", "iface-dumpxml nosuch",
             "iface-begin; iface-commit", "iface-rollback", "iface-commit",
             "iface-begin; iface-destroy eth1; iface-list --all; iface-rollback; iface-list",
             "iface-destroy eth1; iface-list --all; iface-start eth1; iface-list",
             "iface-destroy eth1; iface-undefine eth1; iface-list --all",
             "iface-start eth1",
             "nodedev-list", "nodedev-list --tree", "nodedev-list --cap pci",
             "nodedev-list --cap frob", "nodedev-list --all --inactive",
             "nodedev-list --tree --cap pci", "nodedev-dumpxml computer",
             "nodedev-dumpxml nosuch", "nodedev-info computer", "nodedev-info nosuch",
             "nodedev-destroy nosuch", "nodedev-dumpxml a,b,c"]:
    t(f"dev-{line[:60].replace(' ', '_')}", line)
t("node-iface-list", "iface-list --all", NODE)

# --- snapshots --------------------------------------------------------------------------------
SNAPS = "snapshot-create-as test s1 --description hello; snapshot-create-as test s2; "
for line in ["snapshot-list test", "snapshot-list test --tree", "snapshot-list test --parent",
             "snapshot-list test --roots", "snapshot-list test --leaves",
             "snapshot-list test --no-leaves", "snapshot-list test --name",
             "snapshot-list test --current", "snapshot-list test --from s1",
             "snapshot-list test --from s1 --tree", "snapshot-list test --from s1 --descendants",
             "snapshot-list test --descendants", "snapshot-list test --tree --name",
             "snapshot-list test --tree --leaves", "snapshot-list test --topological",
             "snapshot-list test --active", "snapshot-list test --internal",
             "snapshot-list test --metadata", "snapshot-current test --name",
             "snapshot-current test", "snapshot-info test s1", "snapshot-info test --current",
             "snapshot-info test", "snapshot-info test nosuch", "snapshot-parent test s2",
             "snapshot-parent test s1", "snapshot-parent test --current",
             "snapshot-revert test s1; domstate --reason test; snapshot-current test --name",
             "snapshot-delete test s2; snapshot-list test",
             "snapshot-delete test s1; snapshot-list test --parent",
             "snapshot-delete test s1 --children; snapshot-list test",
             "snapshot-delete test s1 --children-only; snapshot-list test",
             "snapshot-dumpxml test s1", "snapshot-dumpxml test nosuch",
             "snapshot-current test s1; snapshot-current test --name",
             "list --with-snapshot", "list --without-snapshot --all"]:
    t(f"snap-{line[:60].replace(' ', '_')}", SNAPS + line)
t("snap-none", "snapshot-list test; snapshot-current test")
t("snap-create-print", "snapshot-create-as test s1 desc --print-xml")
t("snap-create-diskspec", "snapshot-create-as test s1 --print-xml --diskspec "
  "vda,snapshot=external,driver=qcow2,file=/tmp/x.qcow2 --memspec snapshot=no")
t("snap-create-bad-diskspec", "snapshot-create-as test s1 --print-xml --diskspec vda,foo=bar")
t("snap-create-nometa", "snapshot-create-as test s3 --no-metadata")
t("snap-create-halt", "snapshot-create-as test s3 --halt; list --all")
t("snap-create-default", "snapshot-create test; snapshot-list test --name")
t("snap-create-missing-file", "snapshot-create test /nonexistent.xml")

# --- vcpus, descriptions, metadata, stats -----------------------------------------------------
for line in ["vcpucount test", "vcpucount --maximum test", "vcpucount --active test",
             "vcpucount --live test", "vcpucount --config test", "vcpucount --current test",
             "vcpucount --maximum --config test", "vcpucount --live --config test",
             "vcpucount --active --maximum test", "vcpucount --guest test",
             "setvcpus test 1; vcpucount test; dominfo test", "setvcpus test 0",
             "setvcpus test 1 --config; vcpucount test", "setvcpus test 4 --maximum",
             "setvcpus test 4 --maximum --config; vcpucount test", "setvcpus test 9",
             "setvcpus test x", "setvcpus test 1 --current --live",
             "vcpuinfo test", "vcpuinfo --pretty test",
             "destroy test; vcpuinfo test", "destroy test; vcpuinfo --pretty test",
             "vcpupin test", "vcpupin test 0", "vcpupin test 5", "vcpupin test --config",
             "vcpupin test 0 1; vcpupin test", "vcpupin test 1 0-3,^2; vcpupin test",
             "vcpupin test 0 r; vcpupin test", "vcpupin test 0 99",
             "vcpupin test x", "destroy test; vcpupin test",
             "desc test", "desc test --title", "desc test hello world; desc test",
             "desc --title test --new-desc T; list --title; desc --title test",
             "desc test --config new; desc test --config; desc test",
             "desc test --live --current x",
             "metadata test http://x.org/ --key x --set '<a/>'; metadata test http://x.org/",
             "metadata test http://x.org/", "metadata test http://x.org/ --set '<a/>'",
             "metadata test http://x.org/ --key x --set '<a/>'; "
             "metadata test http://x.org/ --remove --key x; metadata test http://x.org/",
             "metadata test http://x.org/ --key x --set '<a/>'; dumpxml test",
             "domifstat test nosuch", "domhostname test", "domhostname test --source frob",
             "domhostname test --source lease", "domtime test --time 12345; domtime test",
             "domtime test --time 12345; domtime test --pretty", "domtime test --time x",
             "dommemstat test", "dommemstat test --period 5", "dommemstat test --period -1",
             "dommemstat test --current --live", "domblklist test",
             "domblklist --details test", "domblklist --inactive test", "domiflist test",
             "domiflist --inactive test", "domblklist nosuch"]:
    t(f"dom2-{line[:60].replace(' ', '_')}", line)
for line in ["domblklist fv0", "domblklist --details fv0", "domiflist fv0",
             "domiflist fc4", "vcpucount fv0", "vcpuinfo fv0", "vcpupin fv0", "desc fv0",
             "domblklist --details fc4"]:
    t(f"node-dom2-{line.replace(' ', '_')}", line, NODE)

# --- block info, scheduler, devices, saved images ---------------------------------------------
for line in ["domblkinfo test vda", "domblkinfo test vda --human", "domblkinfo test --all",
             "domblkinfo test --all --human", "domblkinfo test", "domblkinfo test nosuch",
             "domblkinfo test vda --all", "domblkstat test nosuch",
             "domblkstat test nosuch --human", "schedinfo test", "schedinfo --config test",
             "schedinfo --live test", "schedinfo --current test",
             "schedinfo --config --live test", "schedinfo --current --live test",
             "schedinfo test --set weight=100; schedinfo test",
             "attach-device test /nonexistent.xml", "attach-device test disk-vdb.xml "
             "--current --live", "detach-device test disk-vdb.xml --persistent --current",
             "update-device test iface-net.xml --current --config",
             "save test /tmp/pyvirsh-cli-s2.img; save-image-dumpxml /tmp/pyvirsh-cli-s2.img "
             "--xpath //name; save-image-define /tmp/pyvirsh-cli-s2.img testdomfc4.xml; "
             "save-image-dumpxml /tmp/pyvirsh-cli-s2.img --xpath //name",
             "save-image-dumpxml /nonexistent.img",
             "save test /tmp/pyvirsh-cli-s3.img --running; restore /tmp/pyvirsh-cli-s3.img "
             "--paused; domstate --reason test"]:
    t(f"dom3-{line[:60].replace(' ', '_')}", line)
for line in ["domblkinfo fv0 --all", "domblkinfo fv0 hda", "schedinfo fv0"]:
    t(f"node-dom3-{line.replace(' ', '_')}", line, NODE)

# --- domstats and events ----------------------------------------------------------------------
for line in ["domstats", "domstats --state", "domstats --list-inactive", "domstats test nosuch",
             "domstats --raw --state test", "domstats --state --list-running",
             "destroy test; domstats --state --list-shutoff", "domstats --balloon test",
             "domstats --vcpu --state test", "event --list", "event --list --all", "event",
             "event --event frob", "event --event lifecycle --timeout 1 --domain nosuch",
             "event --all --timeout 1", "event --event reboot --timeout 1 --domain test",
             "event --all --timeout x", "net-event --list", "net-event",
             "net-event --event frob", "net-event --event lifecycle --timeout 1",
             "net-event --event lifecycle --network nosuch --timeout 1"]:
    t(f"ev-{line[:60].replace(' ', '_')}", line)
# (domstats over several domains is left out: libvirt lists them in hash order)

# (id, argv, environment): connection URIs taken from the environment
ENV_CASES: list[tuple[str, list[str], dict[str, str]]] = [
    ("env-libvirt-default", ["uri"], {"LIBVIRT_DEFAULT_URI": DEF}),
    ("env-virsh-default", ["uri"], {"VIRSH_DEFAULT_CONNECT_URI": DEF}),
    ("env-both", ["uri"], {"VIRSH_DEFAULT_CONNECT_URI": NODE, "LIBVIRT_DEFAULT_URI": DEF}),
    ("env-c-wins", ["-c", DEF, "uri"], {"VIRSH_DEFAULT_CONNECT_URI": NODE}),
    ("env-node-list", ["list --all"], {"LIBVIRT_DEFAULT_URI": NODE}),
    ("env-connect-later", ["connect; uri"], {"VIRSH_DEFAULT_CONNECT_URI": DEF}),
    ("env-help-noconnect", ["help uri"], {"LIBVIRT_DEFAULT_URI": "nosuch:///x"}),
    ("env-bad-uri", ["uri"], {"VIRSH_DEFAULT_CONNECT_URI": "nosuch:///x"}),
]
add("timing", "-t", "-c", DEF, "uri; hostname")
add("timing-quiet", "-t", "-q", "-c", DEF, "uri")

# --- XPath selections, keepalive, more host commands ---------------------------------------
for xp in ["//disk", "//devices/*[1]", "count(//disk)", "//@type", "//nosuch",
           "/domain/name/text()", "//target/@dev", "//os"]:
    t(f"xpath-{xp}", f"dumpxml test --xpath '{xp}'")
    t(f"xpath-wrap-{xp}", f"dumpxml test --wrap --xpath '{xp}'")
t("xpath-net", "net-dumpxml default --xpath //@address")
t("xpath-pool", "pool-dumpxml default-pool --xpath //capacity --wrap")
add("keepalive-k", "-k", "5", "-c", DEF, "uri")
add("keepalive-K", "-K", "2", "-c", DEF, "uri")
add("keepalive-k0", "-k", "0", "-c", DEF, "uri")
add("keepalive-long", "--keepalive-interval=0", "-c", DEF, "uri")
t("cpu-baseline", "cpu-baseline cpu-host.xml")
t("cpu-baseline-features", "cpu-baseline --features cpu-host.xml")
t("cpu-baseline-missing", "cpu-baseline /nonexistent.xml")
t("pool-capabilities", "pool-capabilities")

# --- undefine variants --------------------------------------------------------------------------
for line in ["destroy test; snapshot-create-as test s1; undefine test",
             "destroy test; snapshot-create-as test s1; undefine test --snapshots-metadata; "
             "list --all",
             "undefine test --managed-save; list --all",
             "undefine test --nvram", "undefine test --keep-nvram", "undefine test --tpm",
             "undefine test --wipe-storage", "undefine test --storage vda",
             "undefine test --remove-all-storage --storage vda",
             "undefine test --checkpoints-metadata; list --all",
             "undefine test --delete-snapshots", "undefine test --delete-storage-volume-snapshots",
             "destroy test; undefine test --remove-all-storage; list --all"]:
    t(f"undef-{line[:60].replace(' ', '_')}", line)

# --- control state, disk errors, link state ---------------------------------------------------
for line in ["domcontrol test", "domblkerror test", "domif-getlink test testnet0",
             "domif-getlink test aa:bb:cc:dd:ee:ff", "domif-getlink test AA:BB:CC:DD:EE:FF",
             "domif-getlink test nosuch", "domif-getlink test 00:11:22:33:44:55",
             "domif-getlink test testnet0 --config", "domif-getlink test testnet0 --persistent",
             "domcontrol nosuch"]:
    t(f"mon-{line.replace(' ', '_')}", line)
for line in ["domifaddr test", "domifaddr test --full", "domifaddr test testnet0",
             "domifaddr test nosuch", "domifaddr test --source arp",
             "domifaddr test --source frob", "domifaddr test --source agent", "domfsinfo test",
             "destroy test; domfsinfo test", "destroy test; domifaddr test"]:
    t(f"mon2-{line.replace(' ', '_')}", line)
