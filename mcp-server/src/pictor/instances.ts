// GPU instances, the public face of the core: every function takes (db, actor, input…, clock),
// checks the actor's account (own or team), and returns plain data or throws a DomainError.
// An instance of another account, a deleted one and a malformed id all answer "Instance not found".
export { createInstance, quoteCreateInstance, validateName, validateRentalHours, MAX_NAME_LENGTH } from './instance-create.ts';
export type { CreateInstanceInput, CreateQuote, Created } from './instance-create.ts';
export { listInstances, getInstanceDetail, getInstanceLogs, MAX_PAGE } from './instance-read.ts';
export type { InstanceDetail, AttachedKey, LogEntry, LogsInput, ListInstancesInput, Page } from './instance-read.ts';
export { startInstance, stopInstance, setAutoRenew, renameInstance } from './instance-actions.ts';
export type { ChangeResult } from './instance-actions.ts';
export { addInstanceHours, quoteAddInstanceHours, deleteInstance } from './instance-money.ts';
export type { AddHoursQuote, HoursAdded, Deleted } from './instance-money.ts';
export { attachSshKeys, MAX_KEYS_PER_CALL } from './instance-keys.ts';
export type { AttachResult, OwnedKey } from './instance-keys.ts';
export type { InstanceView } from './instance-records.ts';
export { ACTIVE_STATES, ALL_STATES } from './instance-state.ts';
