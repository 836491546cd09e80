/** An in-memory PrefectApi covering block types, schemas and documents (enough for provisioners). */
import { randomUUID } from "node:crypto";
import type { PrefectApi } from "../../src/prefect/api.js";
import type {
  BlockDocument,
  BlockDocumentCreate,
  BlockSchema,
  BlockSchemaCreate,
  BlockType,
  BlockTypeCreate,
} from "../../src/prefect/types.js";

const now = () => new Date().toISOString();
const unsupported = (name: string) => () => Promise.reject(new Error(`FakePrefect.${name} is not implemented`));

export class FakePrefect implements PrefectApi {
  readonly kind = "server" as const;
  readonly label = "Prefect server (fake)";
  readonly url = "http://fake-prefect/api";
  readonly uiUrl = null;
  readonly blockTypes = new Map<string, BlockType>();
  readonly schemas: BlockSchema[] = [];
  readonly documents: BlockDocument[] = [];
  /** When set, the next createBlockDocument throws this error (and is cleared). */
  failNextBlockWrite: Error | undefined;

  health = () => Promise.resolve();
  readWorkPool = () => Promise.resolve(null);
  listWorkPools = () => Promise.resolve([]);
  createWorkPool = unsupported("createWorkPool");
  updateWorkPool = unsupported("updateWorkPool");
  deleteWorkPool = unsupported("deleteWorkPool");
  scheduledFlowRuns = unsupported("scheduledFlowRuns");
  flowRunsInPool = unsupported("flowRunsInPool");
  poolConcurrencyStatus = unsupported("poolConcurrencyStatus");
  readBlockSchemaByChecksum = (checksum: string) =>
    Promise.resolve(this.schemas.find((s) => s.checksum === checksum) ?? null);
  workerMetadata = () => Promise.resolve(null);

  /** Registers a block type with one schema (what `prefect blocks register -m prefect_aws` would do). */
  register(slug = "aws-credentials", name = "AWS Credentials"): BlockType {
    const type: BlockType = { id: randomUUID(), created: now(), updated: now(), name, slug, is_protected: false };
    this.blockTypes.set(slug, type);
    this.schemas.push({
      id: randomUUID(),
      created: now(),
      updated: now(),
      checksum: `sha256:${slug}`,
      block_type_id: type.id,
      version: "1",
    });
    return type;
  }

  readBlockType(slug: string) {
    return Promise.resolve(this.blockTypes.get(slug) ?? null);
  }

  async createBlockType(body: BlockTypeCreate) {
    const type: BlockType = { id: randomUUID(), created: now(), updated: now(), is_protected: false, ...body };
    this.blockTypes.set(body.slug ?? body.name, type);
    return type;
  }

  async createBlockSchema(body: BlockSchemaCreate) {
    const schema: BlockSchema = {
      id: randomUUID(),
      created: now(),
      updated: now(),
      checksum: `sha256:${randomUUID()}`,
      version: "1",
      block_type_id: body.block_type_id,
    };
    this.schemas.push(schema);
    return schema;
  }

  latestBlockSchema(blockTypeId: string) {
    return Promise.resolve(this.schemas.filter((s) => s.block_type_id === blockTypeId).at(-1) ?? null);
  }

  readBlockDocument(slug: string, name: string) {
    const type = this.blockTypes.get(slug);
    const doc = this.documents.find((d) => d.block_type_id === type?.id && d.name === name);
    return Promise.resolve(doc ?? null);
  }

  listBlockDocuments(slug: string) {
    const type = this.blockTypes.get(slug);
    return Promise.resolve(this.documents.filter((d) => d.block_type_id === type?.id));
  }

  async createBlockDocument(body: BlockDocumentCreate) {
    const fail = this.failNextBlockWrite;
    if (fail) {
      this.failNextBlockWrite = undefined;
      throw fail;
    }
    if (this.documents.some((d) => d.block_type_id === body.block_type_id && d.name === body.name)) {
      throw new Error(`Block already exists: ${body.name}`);
    }
    const doc: BlockDocument = {
      id: randomUUID(),
      created: now(),
      updated: now(),
      name: body.name ?? null,
      data: body.data ?? {},
      block_schema_id: body.block_schema_id,
      block_type_id: body.block_type_id,
      is_anonymous: body.is_anonymous,
    };
    this.documents.push(doc);
    return doc;
  }

  readBlockDocumentById(id: string) {
    return Promise.resolve(this.documents.find((d) => d.id === id) ?? null);
  }

  async updateBlockDocument(id: string, data: Record<string, unknown>) {
    const doc = this.documents.find((d) => d.id === id);
    if (!doc) throw new Error(`Block document ${id} not found`);
    doc.data = data;
  }

  async deleteBlockDocument(id: string) {
    const i = this.documents.findIndex((d) => d.id === id);
    if (i >= 0) this.documents.splice(i, 1);
  }
}
