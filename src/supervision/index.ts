// The supervisor's public names, for src/index.ts to re-export.
export type { BackoffOptions } from './backoff.js';
export type { ChildCallOptions, ChildEvents, ChildHandle, ChildSendOptions, ChildState } from './child.js';
export type { ChildSpec, HealthCheckOptions, RestartPolicy, RestartStrategy, SupervisorOptions } from './options.js';
export { type RestartEvent, type StartErrorEvent, Supervisor, type SupervisorEvents } from './supervisor.js';
