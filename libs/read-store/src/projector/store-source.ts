import type { Doc, ReadStore } from '../port';
import type { DocSource } from './batch';

/** Reads a projection's committed documents from the read store. */
export class StoreSource implements DocSource {
  constructor(private readonly store: ReadStore) {}

  async get(collection: string, id: string): Promise<Doc | undefined> {
    return (await this.store.get(collection, id))?.doc;
  }

  async findBy(collection: string, field: string, value: string): Promise<Doc[]> {
    const docs: Doc[] = [];
    for await (const doc of this.store.stream(collection, { where: { [field]: value } })) docs.push(doc);
    return docs;
  }
}
