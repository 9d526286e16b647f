import 'reflect-metadata';
import { IsInt, IsOptional, IsString, MaxLength, MetadataStorage, getMetadataStorage, validateSync } from 'class-validator';
import { rememberValidationMetadata } from './validation-metadata';
// the DTOs of the API: loading them installs the memo on the storage validate() uses
import './dtos';

const errorsOf = (object: object) => validateSync(object, { whitelist: true, forbidNonWhitelisted: true }).map((e) => [e.property, Object.keys(e.constraints ?? {})]);

describe('rememberValidationMetadata (class-validator lookups once per class)', () => {
  it('answers what class-validator answers, for every option, and computes each answer once', () => {
    class Dto {
      @IsString() @MaxLength(3) name!: string;
      @IsInt({ groups: ['admin'] }) level!: number;
      @IsOptional() @IsString({ always: true }) note?: string;
    }
    const plain = new MetadataStorage();
    const remembered = new MetadataStorage();
    for (const m of (getMetadataStorage() as unknown as { validationMetadatas: Map<unknown, never[]> }).validationMetadatas.get(Dto)!) {
      plain.addValidationMetadata(m);
      remembered.addValidationMetadata(m);
    }
    // spied before it is wrapped: counts the lookups the wrapper makes
    const lookUp = jest.spyOn(MetadataStorage.prototype, 'getTargetValidationMetadatas');
    rememberValidationMetadata(remembered);
    const argsList: Parameters<MetadataStorage['getTargetValidationMetadatas']>[] = [
      [Dto, '', false, false, undefined],
      [Dto, '', true, false, undefined],
      [Dto, '', false, true, []],
      [Dto, '', false, false, ['admin']],
    ];
    for (const args of argsList) {
      const expected = plain.getTargetValidationMetadatas(...args);
      lookUp.mockClear();
      const first = remembered.getTargetValidationMetadatas(...args);
      expect(first).toEqual(expected);
      expect(remembered.getTargetValidationMetadatas(...args)).toBe(first);
      expect(lookUp).toHaveBeenCalledTimes(1);
      expect(remembered.groupByPropertyName(first)).toBe(remembered.groupByPropertyName(first));
      expect(remembered.groupByPropertyName(first)).toEqual(plain.groupByPropertyName(expected));
    }
    lookUp.mockRestore();
  });

  it('sees metadata added after a lookup (a class defined later, a subclass, a decorator applied later)', () => {
    class Base {
      @IsString() name!: string;
    }
    expect(errorsOf(Object.assign(new Base(), { name: 'a' }))).toEqual([]);
    expect(errorsOf(Object.assign(new Base(), { name: 'a', extra: 1 }))).toEqual([['extra', ['whitelistValidation']]]);
    // defined after Base was validated (and its metadata remembered): its own and the inherited decorators both count
    class Derived extends Base {
      @IsInt() level!: number;
    }
    expect(errorsOf(Object.assign(new Derived(), { name: 'a', level: 2 }))).toEqual([]);
    expect(errorsOf(Object.assign(new Derived(), { name: 1, level: 'x' }))).toEqual([
      ['level', ['isInt']],
      ['name', ['isString']],
    ]);
    // a decorator applied to Base after its lookup was remembered: the next validation sees it
    MaxLength(1)(Base.prototype, 'name');
    expect(errorsOf(Object.assign(new Base(), { name: 'ab' }))).toEqual([['name', ['maxLength']]]);
  });

  it('is installed on the storage validate() uses once the DTOs are loaded, and only once', () => {
    const storage = getMetadataStorage();
    const installed = storage.getTargetValidationMetadatas;
    rememberValidationMetadata(storage);
    expect(storage.getTargetValidationMetadatas).toBe(installed);
    expect(installed).not.toBe(MetadataStorage.prototype.getTargetValidationMetadatas);
  });
});
