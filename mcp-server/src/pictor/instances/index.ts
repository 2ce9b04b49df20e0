// GPU instances, the public face of the core: every function takes (db, actor, input…, clock),
// checks the actor's account (own or team), and returns plain data or throws a DomainError.
// An instance of another account, a deleted one and a malformed id all answer "Instance not found".
export { createInstance, quoteCreateInstance, validateName, validateRentalHours, MAX_NAME_LENGTH } from './create.ts';
export type { CreateInstanceInput, CreateQuote, Created } from './create.ts';
export { listInstances, getInstanceDetail, getInstanceLogs, MAX_PAGE } from './read.ts';
export type { InstanceDetail, AttachedKey, LogEntry, LogsInput, ListInstancesInput, Page } from './read.ts';
export { startInstance, stopInstance, setAutoRenew, renameInstance } from './actions.ts';
export type { ChangeResult } from './actions.ts';
export { addInstanceHours, quoteAddInstanceHours, deleteInstance } from './money.ts';
export type { AddHoursQuote, HoursAdded, Deleted } from './money.ts';
export { attachSshKeys, MAX_KEYS_PER_CALL } from './keys.ts';
export type { AttachResult, OwnedKey } from './keys.ts';
export type { InstanceView } from './records.ts';
export { ACTIVE_STATES, ALL_STATES } from './state.ts';
