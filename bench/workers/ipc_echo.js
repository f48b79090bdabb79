// The child_process IPC contender's child: sends every message straight back. Forked by
// bench/contenders/ipc.js with the serialization under test ('json' or 'advanced').
process.on('message', (message) => process.send(message));
process.on('disconnect', () => process.exit(0)); // the bench went away, or stop() disconnected
