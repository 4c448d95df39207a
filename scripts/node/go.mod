// This folder holds the pinned Node tooling (package.json, package-lock.json,
// node_modules). This go.mod only keeps node_modules out of the winback
// module's ./... patterns: the aws-cdk package ships Go template files.
module winback.invalid/node-tooling

go 1.26
