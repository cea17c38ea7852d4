/**
 * A refused or failed call, in the terms the service's protocol uses: the HTTP status and the
 * error code an SDK client turns into the service's exception. Local targets and their stand-ins
 * throw it; the gateway answers with it.
 */
export class TargetError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}
