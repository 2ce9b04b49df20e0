// GPU instances, the public face of the core: every function takes (db, actor, input…, clock),
// checks the actor's account (own or team), and returns plain data or throws a DomainError.
// An instance of another account, a deleted one and a malformed id all answer "Instance not found".
// The lifecycle rules at the end act for no one: the worker calls them with the work it picked.
//
// The folder is layered; a file imports only from layers below its own, never sideways, and code
// outside the folder imports only this file (test/instances-layers.test.ts checks both):
//
//   index.ts                             the public face: re-exports only
//   create actions money resume          operations and lifecycle rules, one concern each
//   expiry retention power wait          (resume: starting a paused instance; retention: deleting
//                                        paused instances at the end of their grace period; wait:
//                                        waiting until an instance is running, woken by changes)
//   keys                                 SSH keys on instances (create-instance attaches them too)
//   read                                 detail views and lists
//   records  state  input  capacity      base: rows, views and log lines; the state machine; checks
//   changes                              of what a caller asks for (names, rental hours); free GPUs;
//                                        the process's one LISTEN for instance change notifications
export { createInstance, quoteCreateInstance } from './create.ts';
export type { CreateInstanceInput, CreateQuote, Created, LaunchView } from './create.ts';
export { listInstances, getInstanceDetail, getInstanceLogs, MAX_PAGE } from './read.ts';
export type { InstanceDetail, AttachedKey, LogEntry, LogsInput, ListInstancesInput, Page } from './read.ts';
export { startInstance, stopInstance, restartInstance, setAutoRenew, renameInstance } from './actions.ts';
export { startPausedInstance, quoteStartPaused } from './resume.ts';
export type { Resumed, StartPausedQuote } from './resume.ts';
export type { ChangeResult } from './actions.ts';
export { addInstanceHours, quoteAddInstanceHours, deleteInstance, quoteDeleteInstance } from './money.ts';
export type { AddHoursQuote, HoursAdded, Deleted, DeleteQuote } from './money.ts';
export { attachSshKeys, MAX_KEYS_PER_CALL } from './keys.ts';
export type { AttachResult, OwnedKey } from './keys.ts';
export { validateName, validateRentalHours, MAX_NAME_LENGTH } from './input.ts';
export type { InstanceView, LimitQuote, PortView } from './records.ts';
export { ACTIVE_STATES, ALL_STATES } from './state.ts';
export { waitUntilRunning, startPhase, START_PHASES } from './wait.ts';
export type { StartPhase, WaitOptions, WaitResult, WaitOutcome, WaitInterruption } from './wait.ts';
export { watchInstanceChanges, INSTANCE_CHANNEL, TooManyWaitersError } from './changes.ts';
export type { InstanceChanges, InstanceChangesOptions, Wake } from './changes.ts';

// For the lifecycle worker, which only picks due work (SKIP LOCKED) and hands it to these rules.
export { renewOrPauseDue, planDue } from './expiry.ts';
export { deletePausedDue } from './retention.ts';
export type { PickAccounts, RetentionPass } from './retention.ts';
export type { DueAccount, DueInstance, Decision, ExpiryPass, PickDueAccounts } from './expiry.ts';
export { carryOutPowerActions } from './power.ts';
export type { PowerOptions } from './power.ts';
export { selectRecord } from './records.ts';
export type { InstanceRecord } from './records.ts';
