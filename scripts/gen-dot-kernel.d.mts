export function assembleDotKernel(): Promise<Buffer>;
export function renderDotKernelModule(bytes: Buffer): string;
