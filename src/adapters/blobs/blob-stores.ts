import { ValidationError } from '../../core/errors.ts';
import type { BlobLocation, BlobStore, BlobStores } from '../../core/recording/blob-store.ts';
import type { Store } from '../store/store.ts';
import { DatabaseBlobStore } from './database-blob-store.ts';
import { DirectoryBlobStore } from './directory-blob-store.ts';

/** Resolves a location to its store; the share and archive paths come from the current settings. */
export class SettingsBlobStores implements BlobStores {
  private readonly database: DatabaseBlobStore;
  private readonly dirs = new Map<string, DirectoryBlobStore>();

  constructor(store: Store, private readonly paths: () => Promise<{ storagePath: string | null; archivePath: string | null }>) {
    this.database = new DatabaseBlobStore(store);
  }

  async at(location: BlobLocation): Promise<BlobStore> {
    if (location === 'database') return this.database;
    const p = await this.paths();
    const root = location === 'share' ? p.storagePath : p.archivePath;
    if (!root) throw new ValidationError(`no ${location === 'share' ? 'storagePath' : 'archivePath'} is configured in the session-recording settings`);
    let dir = this.dirs.get(root);
    if (!dir) {
      dir = new DirectoryBlobStore(root);
      this.dirs.set(root, dir);
    }
    return dir;
  }
}
