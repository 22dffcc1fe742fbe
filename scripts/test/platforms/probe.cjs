// Runs INSIDE a runtime under test (see runtimes.sh): what it is and which libc it runs on.
console.log(JSON.stringify({platform: process.platform, arch: process.arch, glibc: process.report?.getReport().header.glibcVersionRuntime ?? null, versions: process.versions}))
