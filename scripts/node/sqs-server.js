#!/usr/bin/env node
// Runs the SQS emulator (local-aws-sqs, pinned in package.json) on
// 127.0.0.1:PORT until SIGTERM or SIGINT. Started by scripts/stack.sh run-sqs.
//
//   node scripts/node/sqs-server.js PORT
//
// Queues live in memory and go with the process. A deleted queue can be
// created again at once (AWS makes you wait 60 s), and a RedrivePolicy must
// name a DLQ that exists. Queue URLs are http://127.0.0.1:PORT/123456789012/NAME.
//
// With WINBACK_PARENT_PID set (internal/emulator sets it), the emulator exits
// when that process is gone: the test binary that started it may be killed
// without a chance to stop it (Linux also has the parent-death signal).
"use strict";

const http = require("http");
const { createRequestHandler } = require("local-aws-sqs");
const { version } = require("local-aws-sqs/package.json");

const HOST = "127.0.0.1";

function fail(msg) {
	process.stderr.write(`sqs-server: ${msg}\n`);
	process.exit(1);
}

const arg = process.argv[2] || "";
const port = Number(arg);
if (!/^[0-9]+$/.test(arg) || port < 1 || port > 65535) {
	fail(`usage: sqs-server.js PORT (got '${arg}')`);
}

// createRequestHandler rather than createSqsServer: the latter's promise never
// settles when listen fails, and EADDRINUSE must be reported (the test helper
// retries on another port when it sees it).
const { requestHandler } = createRequestHandler({
	port,
	hostname: HOST,
	emulateQueueCreationLifecycle: false,
	validateDlqDestination: true,
});
const server = http.createServer(requestHandler);

server.on("error", (err) => fail(`listen on ${HOST}:${port}: ${err.code || ""} ${err.message}`));
server.listen(port, HOST, () => {
	process.stdout.write(`sqs-server: local-aws-sqs ${version} ready on http://${HOST}:${port}\n`);
});

// Long polls hold connections open: do not wait for them on the way out.
function stop(signal) {
	process.stdout.write(`sqs-server: ${signal}, stopping\n`);
	server.close();
	if (server.closeAllConnections) server.closeAllConnections(); // Node 18.2+
	process.exit(0);
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

const parent = Number(process.env.WINBACK_PARENT_PID || "");
if (Number.isInteger(parent) && parent > 1) {
	setInterval(() => {
		try {
			process.kill(parent, 0);
		} catch (err) {
			if (err.code === "ESRCH") {
				process.stdout.write(`sqs-server: parent ${parent} is gone, stopping\n`);
				process.exit(0);
			}
		}
	}, 500).unref();
}
