// The use cases and the core need no emulator: `npm run test:use-cases` runs them without Java.
export default async function noServices(): Promise<void> {}
