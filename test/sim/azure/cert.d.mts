import type { SimCertificate } from "./server.d.mts";
export function makeCertificate(): Promise<SimCertificate>;
