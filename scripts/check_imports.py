#!/usr/bin/env python3
"""The module map, enforced: every `import` of a module in a target's sources must be a dependency that
target declares in Package.swift (SwiftPM's --explicit-target-dependency-import-check catches only
imports outside a target's transitive closure; this catches the rest). Reads `swift package
dump-package`; exits 1 naming each undeclared import."""
import json, pathlib, re, subprocess, sys

root = pathlib.Path(__file__).resolve().parent.parent
package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                    capture_output=True, text=True).stdout)
# Modules that need no declaration: the toolchain's own.
toolchain = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Darwin", "Dispatch",
             "Testing", "XCTest", "Synchronization", "os", "_Concurrency"}
pattern = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|protocol|func|typealias|var|let)\s+)?(\w+)", re.M)
failures = []
for target in package["targets"]:
    # A dependency on the executable target imports as its module name (swift-vllm → swift_vllm).
    declared = {next(iter(d.values()))[0].replace("-", "_") for d in target["dependencies"]}
    folder = root / ("Tests" if target["type"] == "test" else "Sources") / target["name"]
    for file in sorted(folder.rglob("*.swift")):
        for module in pattern.findall(file.read_text()):
            if module not in toolchain and module != target["name"].replace("-", "_") and module not in declared:
                failures.append(f"{file.relative_to(root)}: imports {module}, which {target['name']} does not declare in Package.swift")
for failure in failures:
    print(failure)
sys.exit(1 if failures else 0)
